public import NIOCore
import Synchronization

/// A command the server may hold for a while before replying: `BLPOP`, `XREAD`/`XREADGROUP` with
/// `BLOCK`.
///
/// While a connection waits on such a command, the server answers nothing else sent on it. On a
/// shared, auto-pipelined connection every command queued behind it would wait too, so send
/// blocking commands only on a connection of their own: ``RedisBlockingReader`` or
/// ``RedisConnection/sendBlocking(_:margin:)`` on a dedicated connection.
public protocol RedisBlockingCommand: RedisCommand {
    /// How long the server may hold the reply: nil when this instance does not block, zero when
    /// it blocks until data arrives.
    var blockingTimeout: Duration? { get }
}

extension RedisBlockingCommand {
    /// The client-side deadline: the block time plus `margin`, a year for "block forever", or nil
    /// (the configured command timeout) when the command does not block.
    func clientDeadline(margin: Duration) -> TimeAmount? {
        guard let blockingTimeout else { return nil }
        if blockingTimeout <= .zero { return .hours(24 * 365) }
        return TimeAmount(blockingTimeout + margin)
    }
}

extension RedisConnection {
    /// Sends a blocking command with a deadline of its block time plus `margin` (instead of the
    /// configured command timeout, which a long block would exceed).
    ///
    /// Use this only on a connection no other task shares. If the command fails with `timeout` or
    /// `cancelled`, the server may still be blocked on it: close the connection.
    public func sendBlocking<Command: RedisBlockingCommand>(
        _ command: Command, margin: Duration = .seconds(1)
    ) async throws(RedisError) -> Command.Response {
        try await send(command, timeout: command.clientDeadline(margin: margin))
    }
}

/// Keeps one connection of its own for blocking reads, such as a stream consumer's
/// `XREADGROUP ... BLOCK` loop, and reconnects after failures.
///
/// Get one with ``RedisClient/withBlockingReader(margin:_:)``. Its connection is outside the
/// client's pool, so a read blocked for seconds delays no other command of the client.
///
/// - Each blocking command gets a deadline of its block time plus ``margin``.
/// - When a command fails with `timeout`, `cancelled`, `connectionClosed` or `protocolError`,
///   the connection is closed (the server may still be blocked on it); the next command opens a
///   new one. Server errors (`NOGROUP`, `WRONGTYPE`) keep the connection.
/// - Connect failures are thrown to the caller: a consumer loop should pause before retrying.
///
/// Use one reader per consumer loop: commands sent concurrently on one reader queue behind
/// each other's blocks.
public final class RedisBlockingReader: Sendable {
    private struct State {
        var connection: RedisConnection?
        var closed = false
    }

    /// Added to each command's block time to form its deadline.
    public let margin: Duration
    private let connect: @Sendable () async throws(RedisError) -> RedisConnection
    private let state = Mutex(State())

    init(margin: Duration, connect: @escaping @Sendable () async throws(RedisError) -> RedisConnection) {
        self.margin = margin
        self.connect = connect
    }

    /// Sends `command` on the reader's connection, connecting first if needed.
    ///
    /// - Parameters:
    ///   - command: the command, blocking or not.
    ///   - timeout: overrides the deadline; by default a ``RedisBlockingCommand`` gets its block
    ///     time plus ``margin`` and any other command the configured command timeout.
    public func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount? = nil) async throws(RedisError) -> Command.Response {
        let connection = try await currentConnection()
        let deadline = timeout ?? (command as? any RedisBlockingCommand)?.clientDeadline(margin: margin)
        do {
            return try await connection.send(command, timeout: deadline)
        } catch {
            switch error.code {
            case .timeout, .cancelled, .connectionClosed, .protocolError: await discard(connection)
            default: break
            }
            throw error
        }
    }

    /// The id the server gave the current connection (`CLIENT ID`), connecting if needed.
    public func clientID() async throws(RedisError) -> Int {
        try await send(CLIENTID())
    }

    /// Closes the connection; later commands fail with `connectionClosed`.
    public func close() async {
        let connection = state.withLock { state -> RedisConnection? in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        await connection?.close()
    }

    private func currentConnection() async throws(RedisError) -> RedisConnection {
        let existing = try state.withLock { state throws(RedisError) -> RedisConnection? in
            if state.closed { throw Self.closedError }
            return state.connection.flatMap { $0.isClosed ? nil : $0 }
        }
        if let existing { return existing }
        let fresh = try await connect()
        let (winner, closeFresh) = state.withLock { state -> (RedisConnection?, Bool) in
            if state.closed { return (nil, true) }
            if let other = state.connection, !other.isClosed { return (other, true) }
            state.connection = fresh
            return (fresh, false)
        }
        if closeFresh { await fresh.close() }
        guard let winner else { throw Self.closedError }
        return winner
    }

    private func discard(_ connection: RedisConnection) async {
        state.withLock { state in
            if state.connection === connection { state.connection = nil }
        }
        await connection.close()
    }

    private static var closedError: RedisError {
        RedisError(.connectionClosed, serverMessage: "the blocking reader was closed")
    }
}

extension RedisClient {
    /// Runs `body` with a ``RedisBlockingReader`` whose connection is the client's own but
    /// outside the pool, and closes it afterwards.
    ///
    /// ```swift
    /// try await client.withBlockingReader { reader in
    ///     while !Task.isCancelled {
    ///         let batch = try await reader.send(XREADGROUP(stream, group: "workers", consumer: name, count: 10, block: .seconds(5)))
    ///         for entry in batch[stream] ?? [] {
    ///             try await handle(entry)
    ///             try await client.send(XACK(stream, group: "workers", ids: [entry.id]))
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - margin: added to each blocking command's block time to form its deadline.
    ///   - body: the reads; the reader is closed when it returns or throws.
    public func withBlockingReader<Result: Sendable>(
        margin: Duration = .seconds(1), _ body: (RedisBlockingReader) async throws -> Result
    ) async throws -> Result {
        let reader = RedisBlockingReader(margin: margin) { () async throws(RedisError) -> RedisConnection in
            try await self.openDedicatedConnection()
        }
        do {
            let result = try await body(reader)
            await reader.close()
            return result
        } catch {
            await reader.close()
            throw error
        }
    }
}
