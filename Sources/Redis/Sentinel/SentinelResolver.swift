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
            let reply: [String]?
            do {
                reply = try await connection.send(
                    RawCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", configuration.serviceName])
                ).decodeOptionalStrings()
            } catch {
                logger.debug("sentinel did not answer", metadata: ["redis.sentinel": "\(sentinel)", "redis.error": "\(error)"])
                continue
            }
            guard let reply, reply.count == 2, let port = Int(reply[1]) else {
                answeredWithoutService = true
                continue
            }
            order.withLock { order in
                if let index = order.firstIndex(of: sentinel), index != 0 {
                    order.remove(at: index)
                    order.insert(sentinel, at: 0)
                }
            }
            return RedisEndpoint(host: reply[0], port: port)
        }
        if answeredWithoutService {
            throw RedisError(.sentinelUnknownService, serverMessage: "no sentinel knows the configured service")
        }
        throw RedisError(.noSentinelReachable)
    }

    /// Checks that a fresh connection reached a primary (`ROLE` says `master`).
    static func verifyPrimary(_ connection: RedisConnection) async throws(RedisError) {
        let role = try await connection.send(RawCommand(["ROLE"]))
        guard case .array(let parts) = role.value, let first = parts.first(where: { _ in true }),
            (try? String(fromRESP: first)) == "master"
        else {
            throw RedisError(.connectionFailed, serverMessage: "the node named by the sentinels is not a primary (yet)")
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
