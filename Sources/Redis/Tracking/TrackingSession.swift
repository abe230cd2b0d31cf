import NIOCore
import RESP
import Synchronization

/// Keeps one tracking connection alive: connects, enables tracking before any read, reports
/// disconnects as "invalidate everything", and reconnects with backoff.
final class TrackingSession: Sendable {
    /// Opens a connection whose push frames go to the given handler.
    typealias Opener = @Sendable (_ pushHandler: @escaping @Sendable (RESPToken) -> Void) async throws(RedisError) -> RedisConnection

    let options: RedisTrackingOptions
    private let open: Opener
    private let backoff: RedisPoolConfiguration
    private let onInvalidation: @Sendable (RedisInvalidation) -> Void
    private let state = Mutex<(connection: RedisConnection?, closed: Bool)>((nil, false))

    /// A session that opens connections with `open` and paces reconnects by `backoff`'s backoff.
    init(
        options: RedisTrackingOptions, backoff: RedisPoolConfiguration,
        onInvalidation: @escaping @Sendable (RedisInvalidation) -> Void, open: @escaping Opener
    ) {
        self.options = options
        self.backoff = backoff
        self.onInvalidation = onInvalidation
        self.open = open
    }

    func currentConnection() throws(RedisError) -> RedisConnection {
        guard let connection = state.withLock({ $0.connection }) else {
            throw RedisError(.connectionClosed, serverMessage: "tracking connection is reconnecting")
        }
        return connection
    }

    /// Connects and enables tracking; only then is the connection handed to readers.
    func connect() async throws(RedisError) {
        let connection = try await open { [onInvalidation] token in
            if let invalidation = Self.invalidation(from: token) { onInvalidation(invalidation) }
        }
        guard connection.protocolVersion == .resp3 else {
            await connection.close()
            throw RedisError(.connectionFailed, serverMessage: "client tracking needs a server that speaks RESP3")
        }
        let tracking = Self.trackingCommand(options)
        do {
            _ = try await connection.send(RawCommand(tracking))
        } catch {
            await connection.close()
            throw error
        }
        let closed = state.withLock { state in
            if !state.closed { state.connection = connection }
            return state.closed
        }
        if closed { await connection.close() }
    }

    /// Until closed: watches the connection, and on loss reports `.all(.disconnected)` and
    /// reconnects with backoff, then reports `.all(.reconnected)`. Without a connection (a first
    /// connect that failed), connects.
    func maintain() async {
        var failures = 0
        while let current = state.withLock({ $0.closed ? nil : Optional($0.connection) }) {
            if let connection = current {
                try? await connection.closeFuture.get()
                let closed = state.withLock { state in
                    state.connection = nil
                    return state.closed
                }
                if closed { return }
                onInvalidation(.all(.disconnected))
                continue
            }
            do {
                try await connect()
                failures = 0
                onInvalidation(.all(.reconnected))
            } catch {
                failures += 1
                let delay = backoff.backoff(afterFailures: failures, jitter: .random(in: 0...1))
                do {
                    try await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                } catch {
                    return
                }
            }
        }
    }

    func close() async {
        let connection = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        await connection?.close()
    }

    static func trackingCommand(_ options: RedisTrackingOptions) -> [String] {
        var arguments = ["CLIENT", "TRACKING", "ON"]
        switch options.mode {
        case .default: break
        case .broadcast(let prefixes):
            arguments.append("BCAST")
            for prefix in prefixes { arguments += ["PREFIX", prefix] }
        case .optIn: arguments.append("OPTIN")
        }
        if options.noLoop { arguments.append("NOLOOP") }
        return arguments
    }

    /// Reads `>2 invalidate [keys]` (a null key list means flush), and `tracking-redir-broken`.
    static func invalidation(from token: RESPToken) -> RedisInvalidation? {
        guard case .push(let parts) = token.value else { return nil }
        var iterator = parts.makeIterator()
        guard let kind = iterator.next().flatMap({ try? String(fromRESP: $0) }) else { return nil }
        switch kind {
        case "invalidate":
            guard let payload = iterator.next() else { return nil }
            if case .null = payload.value { return .all(.flushed) }
            guard let keys = try? [String](fromRESP: payload) else { return nil }
            return .keys(keys)
        case "tracking-redir-broken":
            return .all(.redirectBroken)
        default:
            return nil
        }
    }
}
