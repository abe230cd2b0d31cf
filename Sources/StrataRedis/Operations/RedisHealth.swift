public import Logging
public import Metrics
public import Redis
public import ServiceLifecycle
import Strata
import Synchronization

/// Reports a Redis server's health as swift-metrics gauges: memory, fragmentation, evictions,
/// clients, keyspace hit ratio and throughput, read every ``Configuration/interval``.
///
/// Each reading is `INFO memory`, `INFO stats` and `INFO clients` in one pipelined round trip.
/// The names are ``StrataMetricNames/RedisServer``. The client pool's own health (open, in-use
/// and waiting connections, breaker) is already exported by the client's `RedisMetrics`.
///
/// Run it as a swift-service-lifecycle `Service` next to the client. A failed reading (connection
/// lost, timeout, error reply) increments `strata_redis_health_read_failures_total`, logs one
/// warning and leaves the gauges at their last values; the service keeps going and never throws.
public final class RedisHealth<Executor: RedisCommandExecutor>: Service, Sendable {
    /// Settings of the reporter.
    public struct Configuration: Sendable {
        /// Time between readings (default 15 s).
        public var interval: Duration
        /// Extra dimensions on every metric, for example `[("server", "sessions")]` when one
        /// process watches several servers.
        public var dimensions: [(String, String)]
        /// Where failures are logged.
        public var logger: Logger

        /// Creates a configuration.
        public init(
            interval: Duration = .seconds(15), dimensions: [(String, String)] = [],
            logger: Logger = Logger(label: "strata.redis-health")
        ) {
            self.interval = interval
            self.dimensions = dimensions
            self.logger = logger
        }
    }

    private typealias Names = StrataMetricNames.RedisServer

    private let executor: Executor
    private let configuration: Configuration
    private let gauges: [String: Gauge]
    private let failures: Counter
    private let previous = Mutex<RedisHealthReading?>(nil)

    /// Creates a reporter over `executor` (a running `RedisClient` or a connection).
    ///
    /// - Parameter factory: a specific metrics factory (tests); `nil` uses the bootstrapped global one.
    public init(executor: Executor, configuration: Configuration = Configuration(), factory: (any MetricsFactory)? = nil) {
        self.executor = executor
        self.configuration = configuration
        let dimensions = configuration.dimensions
        var gauges: [String: Gauge] = [:]
        for (name, kind) in Names.all where kind == .gauge {
            gauges[name] = factory.map { Gauge(label: name, dimensions: dimensions, factory: $0) }
                ?? Gauge(label: name, dimensions: dimensions)
        }
        self.gauges = gauges
        failures = factory.map { Counter(label: Names.readFailures, dimensions: dimensions, factory: $0) }
            ?? Counter(label: Names.readFailures, dimensions: dimensions)
    }

    /// Reads and reports until cancelled or gracefully shut down; never throws.
    public func run() async throws {
        await runPeriodically(every: configuration.interval) { _ = await self.poll() }
    }

    /// Takes one reading and updates the gauges.
    ///
    /// - Returns: the reading, or `nil` when it failed (counted and logged).
    @discardableResult
    public func poll() async -> RedisHealthReading? {
        let info: [String: String]
        do {
            info = try await read()
        } catch {
            failures.increment()
            configuration.logger.warning(
                "could not read Redis health; gauges keep their last values", metadata: ["error": "\(error)"])
            return nil
        }
        let reading = RedisHealthReading(info: info)
        let hitRatio = previous.withLock { previous in
            defer { previous = reading }
            return reading.keyspaceHitRatio(since: previous)
        }
        let values: [String: Double?] = [
            Names.usedMemory: reading.usedMemory, Names.maxmemory: reading.maxmemory,
            Names.fragmentationRatio: reading.fragmentationRatio,
            Names.allocatorFragmentationRatio: reading.allocatorFragmentationRatio,
            Names.evictedKeys: reading.evictedKeys, Names.connectedClients: reading.connectedClients,
            Names.keyspaceHitRatio: hitRatio, Names.operationsPerSecond: reading.operationsPerSecond,
        ]
        for (name, value) in values {
            if let value, let gauge = gauges[name] { gauge.record(value) }
        }
        return reading
    }

    private func read() async throws(RedisError) -> [String: String] {
        let sections = ["memory", "stats", "clients"]
        let replies = try await executor.pipeline(sections.map { INFO($0) })
        var fields: [String: String] = [:]
        for (section, reply) in zip(sections, replies) {
            let token = try reply.get()
            fields.merge(try INFO(section).decode(token)) { _, new in new }
        }
        return fields
    }
}
