import MetricsTestKit
import Testing

@testable import Strata

@Suite struct ObservabilityTests {
    @Test func metricsCarryTheNamespaceAndTierButNeverTheKey() async throws {
        let metrics = TestMetrics()
        let clock = ManualCacheClock()
        let cache = try StrataCache(
            configuration: .init(clock: clock, random: { 0.5 }, observer: MetricsCacheObserver(factory: metrics)),
            distributedTier: FakeDistributedTier())
        let key = try makeNamespace().key("user-4711-secret")
        _ = try await cache.value(for: key) { "v" }
        _ = try await cache.value(for: key) { "v" }

        let hits = try metrics.expectCounter("strata_cache_hits_total", [("namespace", "item"), ("tier", "memory")])
        #expect(hits.totalValue == 1)
        let misses = try metrics.expectCounter("strata_cache_misses_total", [("namespace", "item"), ("tier", "distributed")])
        #expect(misses.totalValue == 1)
        let loads = try metrics.expectCounter("strata_cache_loads_total", [("namespace", "item"), ("outcome", "loaded")])
        #expect(loads.totalValue == 1)
        _ = try metrics.expectTimer("strata_cache_load_duration_seconds", [("namespace", "item"), ("outcome", "loaded")])
        for counter in metrics.counters {
            for (_, value) in counter.dimensions { #expect(!value.contains("4711")) }
        }
    }

    @Test func statisticsCountHitsMissesAndLoads() async throws {
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()))
        let key = try makeNamespace().key("k")
        #expect(cache.statistics().hitRatio == nil)
        _ = try await cache.value(for: key) { "v" }
        _ = try await cache.value(for: key) { "v" }
        let statistics = cache.statistics()
        #expect(statistics.memoryHits == 1)
        #expect(statistics.memoryMisses == 1)
        #expect(statistics.loads == 1)
        #expect(statistics.hitRatio == 0.5)
    }

    @Test func cacheErrorsNeverPrintKeys() async throws {
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()))
        let key = try makeNamespace().key("user-4711-secret")
        do {
            _ = try await cache.value(for: key) { () async throws -> String in throw LoaderFailure() }
        } catch {
            #expect(!"\(error)".contains("4711"))
        }
        #expect(!"\(key)".contains("4711"))
    }
}
