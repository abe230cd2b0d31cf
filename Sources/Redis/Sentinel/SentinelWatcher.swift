import Logging
import NIOCore
import Synchronization

/// Listens to the sentinels' `+switch-master` channel so a failover is acted on as soon as it
/// is decided, rather than when the old primary's connections break. Only a speed-up: every
/// reconnect re-resolves the primary anyway.
final class SentinelWatcher: Sendable {
    private let resolver: SentinelResolver
    private let pool: RedisConnectionPool
    private let pubSub: RedisPubSub
    private let logger: Logger
    private let retryDelay: TimeAmount

    init(
        resolver: SentinelResolver, pool: RedisConnectionPool, eventLoop: any EventLoop, logger: Logger,
        metrics: RedisMetrics, poolConfiguration: RedisPoolConfiguration
    ) {
        self.resolver = resolver
        self.pool = pool
        self.logger = logger
        self.retryDelay = poolConfiguration.maximumBackoff
        // Each connect attempt takes the next sentinel, starting with the one that last answered.
        let attempt = Atomic<Int>(0)
        self.pubSub = RedisPubSub(
            configuration: {
                let sentinels = resolver.sentinels
                let index = attempt.wrappingAdd(1, ordering: .relaxed).oldValue
                return resolver.configuration.connection(to: sentinels[index % sentinels.count])
            },
            eventLoop: eventLoop, logger: logger, metrics: metrics, pool: poolConfiguration
        )
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.pubSub.run() }
            await watch()
        }
    }

    private func watch() async {
        let service = resolver.configuration.serviceName
        while true {
            do {
                let timeout = resolver.configuration.sentinelTimeout * 4
                let (_, buffer) = try await pubSub.subscribe([.channel("+switch-master")], bufferLimit: 64, timeout: timeout)
                for try await event in RedisSubscription(buffer: buffer, targets: [.channel("+switch-master")]) {
                    switch event {
                    case .message(let message):
                        // "<service> <old-ip> <old-port> <new-ip> <new-port>"
                        let fields = String(buffer: message.payload).split(separator: " ")
                        guard fields.count == 5, fields[0] == service, let port = Int(fields[4]) else { continue }
                        pool.moveTo(RedisEndpoint(host: String(fields[3]), port: port))
                    case .gap:
                        // A switch may have been missed while the watch was down.
                        if let primary = try? await resolver.resolvePrimary() { pool.moveTo(primary) }
                    }
                }
                return  // the subscription ended: shut down
            } catch let error as RedisError where error.code == .shutdown {
                return
            } catch {
                logger.debug("sentinel watch not established; retrying", metadata: ["redis.error": "\(error)"])
                do {
                    try await Task.sleep(for: .nanoseconds(retryDelay.nanoseconds))
                } catch {
                    return
                }
            }
        }
    }

    func shutdown() {
        pubSub.shutdown()
    }
}
