import Logging
import NIOCore
import RESP
import Synchronization

/// Finds the current primary of a service, per the Sentinel client guide: ask sentinels in order
/// (the one that answers moves to the front), `SENTINEL get-master-addr-by-name`, then — after
/// connecting — verify with `ROLE` that the node really is a primary.
final class SentinelResolver: Sendable {
    let configuration: RedisSentinelConfiguration
    private let order: Mutex<[RedisEndpoint]>
    private let eventLoop: any EventLoop
    private let logger: Logger

    init(configuration: RedisSentinelConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.order = Mutex(configuration.sentinels)
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// The sentinels in the order they will be tried.
    var sentinels: [RedisEndpoint] { order.withLock { $0 } }

    /// Asks the sentinels for the primary's address.
    ///
    /// - Throws: `noSentinelReachable` when none answered, `sentinelUnknownService` when those that
    ///   answered do not know the service.
    func resolvePrimary() async throws(RedisError) -> RedisEndpoint {
        try await askSentinels { connection throws(RedisError) in
            try Self.primaryAddress(from: try await connection.send(primaryQuery))
        }
    }

    /// Asks the sentinels for the primary's address and its replicas, in one round trip to the
    /// first sentinel that answers (so both come from one sentinel's view).
    ///
    /// - Throws: as ``resolvePrimary()``, or `unexpectedReply` for a malformed replica list.
    func discoverReplicas() async throws(RedisError) -> (primary: RedisEndpoint, replicas: [SentinelReplicaEntry]) {
        try await askSentinels { connection throws(RedisError) in
            let replies = try await connection.pipeline([
                primaryQuery, RawCommand(["SENTINEL", "REPLICAS", configuration.serviceName]),
            ])
            guard replies.count == 2, let primary = try Self.primaryAddress(from: try replies[0].get()) else {
                return nil
            }
            return (primary, try SentinelReplicaEntry.list(fromRESP: try replies[1].get()))
        }
    }

    private var primaryQuery: RawCommand {
        RawCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", configuration.serviceName])
    }

    /// Runs `query` on each sentinel in order until one answers with a value; that sentinel
    /// moves to the front. A nil answer means "this sentinel does not know the service".
    private func askSentinels<Answer>(
        _ query: (RedisConnection) async throws(RedisError) -> Answer?
    ) async throws(RedisError) -> Answer {
        var answeredWithoutService = false
        for sentinel in sentinels {
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(
                    configuration: configuration.connection(to: sentinel), eventLoop: eventLoop, logger: logger
                )
            } catch {
                logger.debug("sentinel unreachable", metadata: ["redis.sentinel": "\(sentinel)"])
                continue
            }
            defer { connection.beginGracefulClose() }
            let answer: Answer?
            do {
                answer = try await query(connection)
            } catch {
                logger.debug("sentinel did not answer", metadata: ["redis.sentinel": "\(sentinel)", "redis.error": "\(error)"])
                continue
            }
            guard let answer else {
                answeredWithoutService = true
                continue
            }
            order.withLock { order in
                if let index = order.firstIndex(of: sentinel), index != 0 {
                    order.remove(at: index)
                    order.insert(sentinel, at: 0)
                }
            }
            return answer
        }
        if answeredWithoutService {
            throw RedisError(.sentinelUnknownService, serverMessage: "no sentinel knows the configured service")
        }
        throw RedisError(.noSentinelReachable)
    }

    /// The address in a `GET-MASTER-ADDR-BY-NAME` reply, or nil when the service is unknown.
    private static func primaryAddress(from token: RESPToken) throws(RedisError) -> RedisEndpoint? {
        guard let reply = try token.decodeOptionalStrings(), reply.count == 2, let port = Int(reply[1]) else { return nil }
        return RedisEndpoint(host: reply[0], port: port)
    }

    /// Checks that a fresh connection reached a primary (`ROLE` says `master`).
    static func verifyPrimary(_ connection: RedisConnection) async throws(RedisError) {
        guard try SentinelNodeRole(roleReply: try await connection.send(RawCommand(["ROLE"]))) == .primary else {
            throw RedisError(.connectionFailed, serverMessage: "the node named by the sentinels is not a primary (yet)")
        }
    }

    /// Checks that a fresh connection reached a replica of `primary` whose link is up.
    static func verifyReplica(_ connection: RedisConnection, of primary: RedisEndpoint?) async throws(RedisError) {
        let role = try SentinelNodeRole(roleReply: try await connection.send(RawCommand(["ROLE"])))
        guard let primary, role == .replica(of: primary, linkUp: true) else {
            throw RedisError(.connectionFailed, serverMessage: "the node is not a synced replica of the current primary")
        }
    }
}

extension RESPToken {
    /// An array of strings, or nil for a null reply.
    func decodeOptionalStrings() throws(RedisError) -> [String]? {
        if case .null = value { return nil }
        return try [String](fromRESP: self)
    }
}
