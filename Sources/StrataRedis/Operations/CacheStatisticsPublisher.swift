public import Logging
public import Redis
public import ServiceLifecycle
public import Strata
import Foundation

/// Publishes a cache instance's ``CacheStatistics`` to the Redis hash `strata:stats:<instance>`
/// every ``Configuration/interval``, with a time to live of a few intervals, so that
/// `strata stats --instances` can show every running instance and forgets stopped ones by itself.
///
/// Opt-in: run it as a swift-service-lifecycle `Service` next to the cache. Each publication is
/// `HSET` + `PEXPIRE` in one pipelined round trip. A failed publication is logged and retried at
/// the next interval; the service never throws.
public struct CacheStatisticsPublisher<Executor: RedisCommandExecutor>: Service {
    /// Settings of the publisher.
    public struct Configuration: Sendable {
        /// This instance's name, unique among the instances sharing the Redis (default: host name
        /// and process id).
        public var instance: String
        /// Time between publications (default 5 s).
        public var interval: Duration
        /// How long a publication stays visible (default 3 intervals).
        public var timeToLive: Duration
        /// Where failures are logged.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            instance: String? = nil,
            interval: Duration = .seconds(5), timeToLive: Duration? = nil,
            logger: Logger = Logger(label: "strata.stats-publisher")
        ) {
            self.instance = instance ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
            self.interval = interval
            self.timeToLive = timeToLive ?? interval * 3
            self.logger = logger
        }
    }

    /// The prefix of every published hash; the rest of the key is the instance name.
    public static var keyPrefix: String { "strata:stats:" }

    private let executor: Executor
    private let configuration: Configuration
    private let statistics: @Sendable () -> CacheStatistics

    /// Creates a publisher of `cache`'s statistics over `executor` (a running `RedisClient`).
    public init(cache: StrataCache, executor: Executor, configuration: Configuration = Configuration()) {
        self.init(statistics: { cache.statistics() }, executor: executor, configuration: configuration)
    }

    /// Creates a publisher of whatever `statistics` returns (several caches summed, tests).
    public init(
        statistics: @escaping @Sendable () -> CacheStatistics, executor: Executor, configuration: Configuration = Configuration()
    ) {
        self.statistics = statistics
        self.executor = executor
        self.configuration = configuration
    }

    /// Publishes until cancelled or gracefully shut down; never throws.
    public func run() async throws {
        await runPeriodically(every: configuration.interval) { await self.publish() }
    }

    /// Publishes one snapshot now.
    ///
    /// - Returns: whether it reached Redis (a failure is logged).
    @discardableResult
    public func publish() async -> Bool {
        let key = Self.keyPrefix + configuration.instance
        var fields = statistics().fields
        fields["instance"] = configuration.instance
        fields["published_at"] = String(Int(Date().timeIntervalSince1970 * 1000))
        let pairs = fields.sorted { $0.key < $1.key }.map { (field: $0.key, value: $0.value) }
        do {
            let replies = try await executor.pipeline([HSET(key, fields: pairs), EXPIRE(key, in: configuration.timeToLive)])
            for reply in replies { _ = try reply.get() }
            return true
        } catch {
            configuration.logger.warning(
                "could not publish cache statistics; retrying next interval", metadata: ["error": "\(error)"])
            return false
        }
    }
}
