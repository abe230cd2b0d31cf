/// Every metric name Strata emits, in one place: the observers and services use these constants,
/// and the Grafana dashboard in `docs/grafana` is checked against ``allPrometheusSeries``.
///
/// Names are given as a Prometheus backend renders them: swift-metrics timers become histograms
/// (`_bucket`, `_sum`, `_count` series) and the dots of the Redis client's labels become
/// underscores.
public enum StrataMetricNames {
    /// What kind of swift-metrics instrument a name belongs to.
    public enum Kind: String, Sendable, Hashable {
        /// A monotonically increasing count.
        case counter
        /// A value that goes up and down.
        case gauge
        /// A duration, rendered by Prometheus as a histogram.
        case timer
    }

    /// The names ``MetricsCacheObserver`` appends to its prefix (`strata_cache` by default).
    public enum Cache {
        /// The default prefix of ``MetricsCacheObserver``.
        public static let defaultPrefix = "strata_cache"
        /// Fresh answers, by `namespace` and `tier`.
        public static let hits = "hits_total"
        /// Lookups a tier could not answer fresh, by `namespace` and `tier`.
        public static let misses = "misses_total"
        /// Loader calls, by `namespace` and `outcome`.
        public static let loads = "loads_total"
        /// Loader durations (a timer), by `namespace` and `outcome`.
        public static let loadDuration = "load_duration_seconds"
        /// Refreshes started ahead of expiry, by `namespace` and `reason`.
        public static let refreshes = "refreshes_total"
        /// Stale values served, by `namespace` and `reason`.
        public static let staleServed = "stale_served_total"
        /// Callers that joined another caller's load, by `namespace`.
        public static let singleFlightJoins = "single_flight_joins_total"
        /// Cached bytes that could not be decoded, by `namespace`.
        public static let decodeFailures = "decode_failures_total"
        /// Failed or skipped distributed-tier calls, by `operation` and `breaker_open`.
        public static let distributedErrors = "distributed_errors_total"
        /// 1 while the distributed tier's breaker is open.
        public static let breakerOpen = "breaker_open"
        /// Invalidations this instance announced.
        public static let invalidationsPublished = "invalidations_published_total"
        /// Announcements that could not be sent.
        public static let invalidationPublishFailures = "invalidation_publish_failures_total"
        /// Invalidations received from other instances.
        public static let invalidationsReceived = "invalidations_received_total"
        /// Whole in-process tier flushes, by `reason`.
        public static let memoryFlushes = "memory_flushes_total"
        /// Refused conditional fills, by `namespace` and `outcome`.
        public static let fillsRefused = "fills_refused_total"
        /// Second deletes of double deletes, by `namespace`.
        public static let delayedDeletes = "delayed_deletes_total"
        /// In-process evictions to stay within the bound.
        public static let memoryEvictions = "memory_evictions_total"
        /// Entries found older than one of their tags' epochs (label `namespace`).
        public static let tagInvalidated = "tag_invalidated_total"
        /// Tag epochs this instance learnt were raised.
        public static let tagEpochAdvances = "tag_epoch_advances_total"
        /// Periodic tag-epoch refreshes that failed.
        public static let tagEpochRefreshFailures = "tag_epoch_refresh_failures_total"

        /// Every suffix with its kind.
        public static let suffixes: [String: Kind] = [
            hits: .counter, misses: .counter, loads: .counter, loadDuration: .timer, refreshes: .counter,
            staleServed: .counter, singleFlightJoins: .counter, decodeFailures: .counter,
            distributedErrors: .counter, breakerOpen: .gauge, invalidationsPublished: .counter,
            invalidationPublishFailures: .counter, invalidationsReceived: .counter, memoryFlushes: .counter,
            fillsRefused: .counter, delayedDeletes: .counter, memoryEvictions: .counter,
            tagInvalidated: .counter, tagEpochAdvances: .counter, tagEpochRefreshFailures: .counter,
        ]
    }

    /// The gauges and counters of `RedisHealth` (module StrataRedis): a Redis server's own numbers.
    public enum RedisServer {
        /// `used_memory`, bytes.
        public static let usedMemory = "strata_redis_used_memory_bytes"
        /// `maxmemory`, bytes (0 when unset).
        public static let maxmemory = "strata_redis_maxmemory_bytes"
        /// `mem_fragmentation_ratio` (RSS over allocated).
        public static let fragmentationRatio = "strata_redis_mem_fragmentation_ratio"
        /// `allocator_frag_ratio` (the allocator's own fragmentation).
        public static let allocatorFragmentationRatio = "strata_redis_allocator_frag_ratio"
        /// `evicted_keys` as Redis counts it since start (use `rate()`).
        public static let evictedKeys = "strata_redis_evicted_keys"
        /// `connected_clients`.
        public static let connectedClients = "strata_redis_connected_clients"
        /// Keyspace hits over lookups between two readings (absent until there were lookups).
        public static let keyspaceHitRatio = "strata_redis_keyspace_hit_ratio"
        /// `instantaneous_ops_per_sec`.
        public static let operationsPerSecond = "strata_redis_instantaneous_ops_per_sec"
        /// Readings that failed (connection lost, timeout, error reply).
        public static let readFailures = "strata_redis_health_read_failures_total"

        /// Every name with its kind.
        public static let all: [String: Kind] = [
            usedMemory: .gauge, maxmemory: .gauge, fragmentationRatio: .gauge, allocatorFragmentationRatio: .gauge,
            evictedKeys: .gauge, connectedClients: .gauge, keyspaceHitRatio: .gauge, operationsPerSecond: .gauge,
            readFailures: .counter,
        ]
    }

    /// The instruments of the Redis client's `RedisMetrics` with its default prefix `redis`, as
    /// Prometheus renders them (dots become underscores). The Redis module does not depend on
    /// Strata, so these are kept in step by a test that records through `RedisMetrics`.
    public enum RedisClient {
        /// Command latency (a timer), by `command`.
        public static let commandDuration = "redis_command_duration"
        /// Failed commands, by `command` and `code`.
        public static let commandErrors = "redis_command_errors"
        /// Failed connection attempts.
        public static let connectFailures = "redis_connect_failures"
        /// Open pool connections.
        public static let poolOpen = "redis_pool_connections_open"
        /// Pool connections lent out.
        public static let poolInUse = "redis_pool_connections_in_use"
        /// Callers waiting for a pool connection.
        public static let poolWaiters = "redis_pool_waiters"
        /// 1 while the pool's breaker fails fast.
        public static let poolBreakerOpen = "redis_pool_breaker_open"

        /// Every name with its kind.
        public static let all: [String: Kind] = [
            commandDuration: .timer, commandErrors: .counter, connectFailures: .counter, poolOpen: .gauge,
            poolInUse: .gauge, poolWaiters: .gauge, poolBreakerOpen: .gauge,
        ]
    }

    /// Every metric with the default prefixes, with its kind.
    public static var all: [String: Kind] {
        var names = RedisServer.all.merging(RedisClient.all) { first, _ in first }
        for (suffix, kind) in Cache.suffixes { names["\(Cache.defaultPrefix)_\(suffix)"] = kind }
        return names
    }

    /// Every series name a Prometheus scrape can show: gauges and counters as named, timers as
    /// their histogram's `_bucket`, `_sum` and `_count` series.
    public static var allPrometheusSeries: Set<String> {
        var series: Set<String> = []
        for (name, kind) in all {
            if kind == .timer {
                series.formUnion(["\(name)_bucket", "\(name)_sum", "\(name)_count"])
            } else {
                series.insert(name)
            }
        }
        return series
    }
}
