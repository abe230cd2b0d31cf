public import NIOCore
public import RESP

/// How a `MULTI`/`EXEC` transaction ended.
///
/// A transaction whose queued commands the server rejected (wrong arity, unknown command,
/// `OOM`) never ran: that is thrown as ``RedisError`` with code
/// ``RedisError/Code-swift.struct/execAbort``, not returned here.
public enum RedisTransactionOutcome: Sendable {
    /// `EXEC` ran every queued command: one result per command, in order. A command that failed
    /// while running (such as `INCR` on a string) fails alone; the others were applied, since
    /// Redis has no rollback.
    case committed([Result<RESPToken, RedisError>])
    /// `EXEC` returned null: a watched key changed after `WATCH`, and nothing ran. Read again
    /// and retry if the operation still applies.
    case aborted

    /// The per-command results when committed, nil when aborted.
    public var results: [Result<RESPToken, RedisError>]? {
        if case .committed(let results) = self { return results }
        return nil
    }

    /// Whether the transaction ran.
    public var isCommitted: Bool { results != nil }

    /// Reads `[MULTI, queued..., EXEC]` pipeline results.
    init(pipelineResults results: [Result<RESPToken, RedisError>], commands: [any RedisCommand]) throws(RedisError) {
        if case .failure(let error) = results.first { throw error }
        guard results.count == commands.count + 2, let execResult = results.last else {
            throw RedisError(.unexpectedReply, command: EXEC.name, serverMessage: "transaction reply count mismatch")
        }
        switch execResult {
        case .failure(var error):
            if error.code == .execAbort {
                // The first command the server refused to queue says why.
                for case .failure(let rejected) in results.dropFirst().dropLast() {
                    error.underlying = rejected
                    break
                }
            }
            throw error
        case .success(let token):
            switch token.value {
            case .null:
                self = .aborted
            case .array(let replies) where replies.count == commands.count:
                self = .committed(
                    zip(commands, replies).map { command, reply in
                        if reply.isError, let error = reply.serverError(command: type(of: command).name) {
                            return .failure(error)
                        }
                        return .success(reply)
                    }
                )
            default:
                throw RedisError.unexpected(token, expected: "EXEC reply").naming(command: EXEC.name)
            }
        }
    }
}

/// An optimistic transaction being built on a connection pinned to it: read watched keys through
/// ``connection``, then ``queue(_:)`` the writes that `EXEC` will apply.
///
/// Received by ``RedisClient/transaction(watching:timeout:_:)`` and
/// ``RedisConnection/transaction(watching:timeout:_:)``.
public struct RedisTransaction: Sendable {
    /// The pinned connection. Reads sent on it run now, after `WATCH` and before `MULTI`.
    public let connection: RedisConnection
    /// The commands queued so far, in order.
    public private(set) var commands: [any RedisCommand] = []

    init(connection: RedisConnection) {
        self.connection = connection
    }

    /// Queues a command for `EXEC`. Nothing is sent until the body returns.
    public mutating func queue(_ command: some RedisCommand) {
        commands.append(command)
    }

    /// Watches more keys, such as keys found by reading watched ones.
    public func watch(_ keys: [String]) async throws(RedisError) {
        guard !keys.isEmpty else { return }
        _ = try await connection.send(WATCH(keys))
    }
}

extension RedisCommandExecutor {
    /// Runs `commands` atomically as `MULTI`, the commands and `EXEC`, written as one batch.
    ///
    /// No `WATCH`: the batch is written contiguously, so this is safe on shared and pooled
    /// connections and costs one round trip. Use ``RedisClient/transaction(watching:timeout:_:)``
    /// to make the transaction conditional on keys read first.
    ///
    /// - Returns: ``RedisTransactionOutcome/committed(_:)`` with one result per command.
    /// - Throws: ``RedisError`` with code `execAbort` (its `underlying` error is the first
    ///   rejected command's) when the server refused a command while queueing; nothing ran.
    public func transaction(
        _ commands: [any RedisCommand], timeout: TimeAmount? = nil
    ) async throws(RedisError) -> RedisTransactionOutcome {
        guard !commands.isEmpty else { return .committed([]) }
        var batch: [any RedisCommand] = [MULTI()]
        batch.append(contentsOf: commands)
        batch.append(EXEC())
        let results = try await pipeline(batch, timeout: timeout)
        return try RedisTransactionOutcome(pipelineResults: results, commands: commands)
    }
}

extension RedisConnection {
    /// Runs an optimistic transaction on this connection: `WATCH keys`, then `body` (which reads
    /// through ``RedisTransaction/connection`` and queues commands), then `MULTI`, the queued
    /// commands and `EXEC` as one batch.
    ///
    /// `WATCH` is connection state: no other task may use this connection until the call returns
    /// (another caller's `EXEC` or `UNWATCH` would silently drop the watch). With a
    /// ``RedisClient``, use ``RedisClient/transaction(watching:timeout:_:)``, which pins a
    /// connection for you.
    ///
    /// If `body` throws, the keys are unwatched and the error rethrown; if it queues nothing, the
    /// keys are unwatched and the outcome is an empty `committed`.
    ///
    /// - Parameters:
    ///   - keys: watched before `body` runs.
    ///   - timeout: the deadline of each round trip (`WATCH`, and the `MULTI`/`EXEC` batch).
    ///   - body: reads through the transaction's connection and queues commands.
    public func transaction(
        watching keys: [String], timeout: TimeAmount? = nil, _ body: (inout RedisTransaction) async throws -> Void
    ) async throws -> RedisTransactionOutcome {
        if !keys.isEmpty { _ = try await send(WATCH(keys), timeout: timeout) }
        var transaction = RedisTransaction(connection: self)
        do {
            try await body(&transaction)
        } catch {
            _ = try? await send(UNWATCH(), timeout: timeout)
            throw error
        }
        guard !transaction.commands.isEmpty else {
            _ = try await send(UNWATCH(), timeout: timeout)
            return .committed([])
        }
        return try await self.transaction(transaction.commands, timeout: timeout)
    }
}

extension RedisClient {
    /// Runs an optimistic transaction on a connection pinned to it: `WATCH keys`, then `body`
    /// (reads through ``RedisTransaction/connection`` see the watched keys; writes are queued with
    /// ``RedisTransaction/queue(_:)``), then `MULTI`, the queued commands and `EXEC`.
    ///
    /// ```swift
    /// let outcome = try await client.transaction(watching: [balanceKey]) { tx in
    ///     let balance = try await tx.connection.send(GET(balanceKey)).map { Int(String(buffer: $0)) ?? 0 } ?? 0
    ///     tx.queue(SET(balanceKey, balance - amount))
    /// }
    /// if case .aborted = outcome { /* someone changed the balance: read again and retry */ }
    /// ```
    ///
    /// The connection is opened for this transaction (``withDedicatedConnection(_:)``) and closed
    /// afterwards, so no other caller can touch its `WATCH` state. The cost is a TCP connect and
    /// handshake (two or three round trips, more with TLS) per call, outside the pool's limits.
    /// A transaction that watches nothing is cheaper as ``transaction(_:timeout:)``, which runs
    /// on a pooled connection.
    ///
    /// - Returns: `committed` with one result per queued command, or `aborted` when a watched key
    ///   changed.
    /// - Throws: what `body` throws; ``RedisError`` with code `execAbort` when the server refused
    ///   a queued command (nothing ran); connection errors.
    public func transaction(
        watching keys: [String] = [], timeout: TimeAmount? = nil, _ body: (inout RedisTransaction) async throws -> Void
    ) async throws -> RedisTransactionOutcome {
        try await withDedicatedConnection { connection in
            try await connection.transaction(watching: keys, timeout: timeout, body)
        }
    }
}
