public import NIOCore
import RESP

/// How the server tracks the keys a tracking connection reads (`CLIENT TRACKING ON ...`).
public struct RedisTrackingOptions: Sendable, Hashable {
    /// Which keys produce invalidations.
    public enum Mode: Sendable, Hashable {
        /// Keys this connection read (the server remembers them, bounded by `tracking-table-max-keys`;
        /// past that it evicts entries and sends invalidations for keys that did not change).
        case `default`
        /// Every key with one of these prefixes (`BCAST`), whether read or not; no server memory
        /// per key. An empty list means every key.
        case broadcast(prefixes: [String])
        /// Only keys read right after `CLIENT CACHING YES` (`OPTIN`): use
        /// ``RedisTrackedReader/getWithTimeToLive(_:)``, which sends it.
        case optIn
    }

    /// The mode.
    public var mode: Mode
    /// Do not report keys this connection itself modified (`NOLOOP`).
    public var noLoop: Bool

    /// Creates options.
    public init(mode: Mode = .default, noLoop: Bool = false) {
        self.mode = mode
        self.noLoop = noLoop
    }
}

/// What the server says is no longer valid.
public enum RedisInvalidation: Sendable, Hashable {
    /// These keys changed, expired or were evicted (or fell out of the server's tracking table).
    case keys([String])
    /// Drop everything cached from this server.
    case all(Reason)

    /// Why everything must go.
    public enum Reason: Sendable, Hashable {
        /// `FLUSHALL`/`FLUSHDB` (an invalidation with a null key list).
        case flushed
        /// The tracking connection was lost: invalidations may have been missed until it is back.
        case disconnected
        /// Tracking is on again after a loss. Values read through other connections while it was
        /// off may have changed unreported: drop them too (single-server tracking only; a cluster
        /// reader reads through its tracked connections, which serve nothing while down).
        case reconnected
        /// The server reported `tracking-redir-broken`.
        case redirectBroken
        /// A cluster's slot map changed (a slot moved, a failover): keys of moved slots are now
        /// written on nodes this reader did not read them from (``RedisClusterClient`` only).
        case topologyChanged
    }
}

/// Reads tracked by the server: every key read through it produces an invalidation when it
/// changes. Obtained inside ``RedisClient/withTracking(_:onInvalidation:_:)`` or
/// ``RedisClusterClient/withTracking(_:onInvalidation:_:)``.
///
/// Over one server, all reads share one dedicated RESP3 connection (auto-pipelined). Over a
/// cluster, there is one such connection per primary, and a read goes to the connection of the
/// node serving its key's slot, following `MOVED` and `ASK`. While the connection a read needs is
/// down, the read fails fast with `connectionClosed`: fall back to an untracked read and do not
/// cache the result.
public final class RedisTrackedReader: Sendable {
    enum Backend: Sendable {
        case single(TrackingSession)
        case cluster(ClusterTrackingSession)

        func start() async throws(RedisError) {
            switch self {
            case .single(let session): try await session.connect()
            case .cluster(let session): try await session.start()
            }
        }

        func run() async {
            switch self {
            case .single(let session): await session.maintain()
            case .cluster(let session): await session.run()
            }
        }

        func close() async {
            switch self {
            case .single(let session): await session.close()
            case .cluster(let session): await session.close()
            }
        }
    }

    let backend: Backend

    init(_ backend: Backend) {
        self.backend = backend
    }

    /// Starts `backend`, runs `body` with a reader over it while the backend keeps its
    /// connections alive, and closes it however `body` (or the start) ends.
    static func withReader<Result: Sendable>(
        _ backend: Backend, _ body: (RedisTrackedReader) async throws -> Result
    ) async throws -> Result {
        do {
            try await backend.start()
        } catch {
            await backend.close()
            throw error
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await backend.run() }
            do {
                let result = try await body(RedisTrackedReader(backend))
                await backend.close()
                group.cancelAll()
                return result
            } catch {
                await backend.close()
                group.cancelAll()
                throw error
            }
        }
    }

    private var options: RedisTrackingOptions {
        switch backend {
        case .single(let session): session.options
        case .cluster(let session): session.options
        }
    }

    /// Sends a read (or any command) on the tracking connection (over a cluster: the one of the
    /// node serving the command's keys; a command whose keys span slots fails with `crossSlot`).
    public func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount? = nil) async throws(RedisError) -> Command.Response {
        switch backend {
        case .single(let session): try await session.currentConnection().send(command, timeout: timeout)
        case .cluster(let session): try await session.send(command, timeout: timeout)
        }
    }

    /// `GET key`, tracked.
    public func get(_ key: String) async throws(RedisError) -> ByteBuffer? {
        try await send(GET(key))
    }

    /// The value and its remaining time to live, read atomically and tracked:
    /// `[CLIENT CACHING YES] MULTI PTTL key GET key EXEC`, as one batch that no other command can
    /// split (`CLIENT CACHING YES` is sent in ``RedisTrackingOptions/Mode/optIn`` mode only).
    ///
    /// To build a local cache that never keeps a stale value, insert a placeholder for the key
    /// *before* calling this, have the invalidation handler remove placeholders and values alike,
    /// and store the reply only if the placeholder is still there. An invalidation that overtakes
    /// the reply then removes the placeholder, and the stale reply is dropped.
    public func getWithTimeToLive(_ key: String) async throws(RedisError) -> (value: ByteBuffer?, timeToLive: RedisTimeToLive) {
        var commands: [any RedisCommand] = []
        if case .optIn = options.mode { commands.append(RawCommand(["CLIENT", "CACHING", "YES"])) }
        commands += [RawCommand(["MULTI"]), PTTL(key), GET(key), RawCommand(["EXEC"])]
        let results = switch backend {
        case .single(let session): try await session.currentConnection().pipeline(commands)
        case .cluster(let session): try await session.pipeline(commands, key: key)
        }
        guard let exec = results.last else { throw RedisError(.unexpectedReply) }
        let token = try exec.get()
        guard case .array(let parts) = token.value, parts.count == 2 else {
            throw RedisError.unexpected(token, expected: "EXEC of PTTL and GET")
        }
        var iterator = parts.makeIterator()
        guard let ttlToken = iterator.next(), let valueToken = iterator.next() else { throw RedisError(.unexpectedReply) }
        let ttl = try PTTL(key).decode(ttlToken)
        return (try ByteBuffer?(fromRESP: valueToken), ttl)
    }
}

extension RedisClient {
    /// Runs `body` with a tracked reader; `onInvalidation` hears every invalidation in the order
    /// the server sent it.
    ///
    /// `onInvalidation` runs on the connection's event loop, synchronously, before any later reply
    /// on that connection is delivered: keep it short (remove keys from a local map). After the
    /// tracking connection is lost it is called with `.all(.disconnected)` (invalidations may have
    /// been missed), and the client reconnects and re-enables tracking before serving reads
    /// again. `FLUSHALL` arrives as `.all(.flushed)`.
    ///
    /// - Throws: `connectionFailed` if the server cannot do RESP3 tracking, or whatever `body` throws.
    public func withTracking<Result: Sendable>(
        _ options: RedisTrackingOptions = RedisTrackingOptions(),
        onInvalidation: @escaping @Sendable (RedisInvalidation) -> Void,
        _ body: (RedisTrackedReader) async throws -> Result
    ) async throws -> Result {
        let session = TrackingSession(options: options, backoff: poolConfiguration, onInvalidation: onInvalidation) {
            handler async throws(RedisError) in try await self.openDedicatedConnection(pushHandler: handler)
        }
        return try await RedisTrackedReader.withReader(.single(session), body)
    }
}
