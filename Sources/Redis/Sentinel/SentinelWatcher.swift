import Logging
import NIOCore
import Synchronization

/// Listens to the sentinels' `+switch-master` channel so a failover is acted on as soon as it
/// is decided, rather than when the old primary's connections break. With replica reads it also
/// listens to `+sdown`, `-sdown` and `+slave`, so the replica list is re-read when it changes.
/// Only a speed-up: every reconnect re-resolves the primary anyway, and the replica list is
/// re-read periodically.
final class SentinelWatcher: Sendable {
    private let resolver: SentinelResolver
    private let pool: RedisConnectionPool
    private let replicaReads: SentinelReplicaReads?
    private let pubSub: RedisPubSub
    private let logger: Logger
    private let retryDelay: TimeAmount

    init(
        resolver: SentinelResolver, pool: RedisConnectionPool, replicaReads: SentinelReplicaReads?,
        eventLoop: any EventLoop, logger: Logger, metrics: RedisMetrics, poolConfiguration: RedisPoolConfiguration
    ) {
        self.resolver = resolver
        self.pool = pool
        self.replicaReads = replicaReads
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
        let targets = SentinelEvent.channels(replicaReads: replicaReads != nil).map(RedisSubscriptionTarget.channel)
        while true {
            do {
                let timeout = resolver.configuration.sentinelTimeout * 4
                let (_, buffer) = try await pubSub.subscribe(targets, bufferLimit: 64, timeout: timeout)
                for try await event in RedisSubscription(buffer: buffer, targets: targets) {
                    switch event {
                    case .message(let message):
                        let payload = String(buffer: message.payload)
                        guard let event = SentinelEvent.parse(channel: message.channel, payload: payload, service: service) else {
                            continue
                        }
                        if case .switchMaster(let primary) = event { pool.moveTo(primary) }
                        replicaReads?.handle(event)
                    case .gap:
                        // A switch may have been missed while the watch was down.
                        replicaReads?.handle(.replicasChanged)
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
