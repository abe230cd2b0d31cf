public import Metrics
import Synchronization

/// A ``CacheObserver`` that reports to swift-metrics, whatever backend the application bootstrapped
/// (Prometheus, StatsD, OpenTelemetry…).
///
/// The names are the constants of ``StrataMetricNames/Cache``. Metric names (all with a `namespace` dimension where the event has one; never a key):
///
/// | metric | type | dimensions |
/// |---|---|---|
/// | `strata_cache_hits_total` | counter | `tier` (memory, distributed) |
/// | `strata_cache_misses_total` | counter | `tier` |
/// | `strata_cache_loads_total` | counter | `outcome` (loaded, not_found, failed, timed_out) |
/// | `strata_cache_load_duration_seconds` | timer | `outcome` |
/// | `strata_cache_refreshes_total` | counter | `reason` (xfetch, refresh_ahead, stale_while_revalidate) |
/// | `strata_cache_stale_served_total` | counter | `reason` (while_revalidate, loader_failed, loader_timed_out, soft_timeout) |
/// | `strata_cache_single_flight_joins_total` | counter | |
/// | `strata_cache_decode_failures_total` | counter | |
/// | `strata_cache_distributed_errors_total` | counter | `operation`, `breaker_open` |
/// | `strata_cache_breaker_open` | gauge | 1 while the distributed tier's breaker is open |
/// | `strata_cache_invalidations_published_total` / `_received_total` | counter | |
/// | `strata_cache_invalidation_publish_failures_total` | counter | |
/// | `strata_cache_memory_flushes_total` | counter | `reason` (subscribed, disconnected, sequence_gap, requested) |
/// | `strata_cache_fills_refused_total` | counter | `outcome` (lease_lost, older_than_invalidated, older_than_stored) |
/// | `strata_cache_delayed_deletes_total` | counter | |
/// | `strata_cache_memory_evictions_total` | counter | |
/// | `strata_cache_tag_invalidated_total` | counter | (entries refused by a tag or namespace epoch) |
/// | `strata_cache_tag_epoch_advances_total` / `_refresh_failures_total` | counter | |
///
/// Metric handles are created once per distinct label set and reused, so recording an event costs
/// a dictionary lookup under a lock plus the backend's own work.
public final class MetricsCacheObserver: CacheObserver {
    private typealias Names = StrataMetricNames.Cache

    private struct HandleKey: Hashable {
        var name: String
        var dimensions: [String]
    }

    private let prefix: String
    private let factory: (any MetricsFactory)?
    private let counters = Mutex<[HandleKey: Counter]>([:])
    private let timers = Mutex<[HandleKey: Metrics.Timer]>([:])
    private let breakerGauge: Gauge

    /// Creates an observer.
    ///
    /// - Parameters:
    ///   - prefix: prepended to every metric name (default `strata_cache`).
    ///   - factory: a specific metrics factory (tests); `nil` uses the bootstrapped global one.
    public init(prefix: String = StrataMetricNames.Cache.defaultPrefix, factory: (any MetricsFactory)? = nil) {
        self.prefix = prefix
        self.factory = factory
        if let factory {
            breakerGauge = Gauge(label: "\(prefix)_\(Names.breakerOpen)", dimensions: [], factory: factory)
        } else {
            breakerGauge = Gauge(label: "\(prefix)_\(Names.breakerOpen)")
        }
    }

    public func record(_ event: CacheEvent) {
        switch event {
        case .hit(let tier, let namespace):
            count(Names.hits, ["namespace", namespace, "tier", tier.rawValue])
        case .miss(let tier, let namespace):
            count(Names.misses, ["namespace", namespace, "tier", tier.rawValue])
        case .loadCompleted(let namespace, let outcome, let duration):
            count(Names.loads, ["namespace", namespace, "outcome", outcome.rawValue])
            timer(Names.loadDuration, ["namespace", namespace, "outcome", outcome.rawValue])
                .recordNanoseconds(max(0, duration.cacheMilliseconds) * 1_000_000)
        case .refreshStarted(let namespace, let reason):
            count(Names.refreshes, ["namespace", namespace, "reason", reason.rawValue])
        case .staleServed(let namespace, let reason):
            count(Names.staleServed, ["namespace", namespace, "reason", reason.rawValue])
        case .singleFlightJoined(let namespace):
            count(Names.singleFlightJoins, ["namespace", namespace])
        case .decodeFailed(let namespace):
            count(Names.decodeFailures, ["namespace", namespace])
        case .distributedTierFailed(let operation, let breakerOpen):
            count(Names.distributedErrors, ["operation", operation.rawValue, "breaker_open", breakerOpen ? "true" : "false"])
        case .breakerChanged(let open):
            breakerGauge.record(open ? 1 : 0)
        case .invalidationPublished:
            count(Names.invalidationsPublished, [])
        case .invalidationPublishFailed:
            count(Names.invalidationPublishFailures, [])
        case .invalidationReceived:
            count(Names.invalidationsReceived, [])
        case .memoryFlushed(let reason):
            count(Names.memoryFlushes, ["reason", reason.rawValue])
        case .fillRefused(let namespace, let outcome):
            count(Names.fillsRefused, ["namespace", namespace, "outcome", outcome.rawValue])
        case .delayedDeleteCompleted(let namespace):
            count(Names.delayedDeletes, ["namespace", namespace])
        case .memoryEvicted:
            count(Names.memoryEvictions, [])
        case .tagInvalidated(let namespace):
            count(Names.tagInvalidated, ["namespace", namespace])
        case .tagEpochAdvanced:
            count(Names.tagEpochAdvances, [])
        case .tagEpochRefreshFailed:
            count(Names.tagEpochRefreshFailures, [])
        }
    }

    /// `flatDimensions` alternates names and values, which keeps call sites allocation-light.
    private func count(_ name: String, _ flatDimensions: [String]) {
        let key = HandleKey(name: name, dimensions: flatDimensions)
        let counter = counters.withLock { handles -> Counter in
            if let existing = handles[key] { return existing }
            let created = makeCounter("\(prefix)_\(name)", pairs(flatDimensions))
            handles[key] = created
            return created
        }
        counter.increment()
    }

    private func timer(_ name: String, _ flatDimensions: [String]) -> Metrics.Timer {
        let key = HandleKey(name: name, dimensions: flatDimensions)
        return timers.withLock { handles -> Metrics.Timer in
            if let existing = handles[key] { return existing }
            let label = "\(prefix)_\(name)"
            let created = factory.map { Metrics.Timer(label: label, dimensions: pairs(flatDimensions), factory: $0) }
                ?? Metrics.Timer(label: label, dimensions: pairs(flatDimensions))
            handles[key] = created
            return created
        }
    }

    private func makeCounter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        if let factory { return Counter(label: label, dimensions: dimensions, factory: factory) }
        return Counter(label: label, dimensions: dimensions)
    }

    private func pairs(_ flat: [String]) -> [(String, String)] {
        stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }
}
