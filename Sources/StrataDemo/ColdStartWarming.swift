import Redis
import Strata
import StrataRedis
import Synchronization

/// The "Strata + warming" instances of the cold-start scenario, and how the scenario drives them.
///
/// Each instance tracks its hot keys (every read recorded: the demo's traffic is small) and
/// publishes them to a hot list kept in Redis database 1, standing in for a store that outlives
/// the cache data (database 0 is what the scenario empties). When Redis comes back empty, every
/// instance stops taking traffic (its readiness goes to "warming"), re-loads the published hot
/// keys into Redis and its in-process tier, and takes traffic again.
final class ColdStartWarming: Sendable {
    /// The longest hot list an instance tracks and warms.
    let hotKeys: Int
    /// Loads in flight per instance while warming.
    let concurrency: Int
    private let instances = Mutex<[WarmingProductService]>([])

    init(hotKeys: Int, concurrency: Int = 16) {
        self.hotKeys = hotKeys
        self.concurrency = concurrency
    }

    func register(_ instance: WarmingProductService) {
        instances.withLock { $0.append(instance) }
    }

    /// Every instance publishes what it counted since its last publish.
    func publishHotKeys() async {
        for instance in instances.withLock({ $0 }) { await instance.publisher.publishNow() }
    }

    /// Every instance re-warms at once; returns when all are ready again.
    func rewarmAll() async {
        let all = instances.withLock { $0 }
        await withDiscardingTaskGroup { group in
            for (index, instance) in all.enumerated() {
                group.addTask { await instance.rewarm(part: index, of: all.count, limit: self.hotKeys, concurrency: self.concurrency) }
            }
        }
    }
}

/// A Strata instance behind a readiness gate: requests wait while it warms, as a load balancer
/// holds traffic from an instance whose readiness probe fails.
struct WarmingProductService: ProductService {
    let inner: StrataProductService
    let readiness: CacheReadiness
    let publisher: HotKeyPublisher
    let hotList: RedisHotKeyStore
    var name: String { inner.name }

    func product(id: Int) async throws -> Product? {
        try await readiness.waitUntilReady()
        return try await inner.product(id: id)
    }

    func updatePrice(id: Int, priceCents: Int) async throws {
        try await readiness.waitUntilReady()
        try await inner.updatePrice(id: id, priceCents: priceCents)
    }

    /// Marks the instance not ready, loads the published hot keys, marks it ready.
    ///
    /// The warm skips the in-process tier on reads, so keys this instance still holds are
    /// written back to the emptied Redis too. Instances start at different points of the list
    /// (instance `part` of `count` at `part/count` of it) so that each key is loaded from the
    /// source by about one instance; the others find it in Redis.
    func rewarm(part: Int, of count: Int, limit: Int, concurrency: Int) async {
        readiness.markNotReady()
        defer { readiness.markReady() }
        let products = inner.products
        guard let published = try? await hotList.hotKeys(namespace: products.name, limit: limit) else { return }
        let keys = published.compactMap { products.key(storageKey: $0) }
        let start = keys.isEmpty ? 0 : keys.count * part / max(1, count)
        var options = products.defaultOptions
        options.tiers = [.writeMemory, .readDistributed, .writeDistributed]
        let catalog = inner.catalog
        _ = try? await inner.cache.warm(
            products, keys: Array(keys[start...] + keys[..<start]), concurrency: concurrency, options: options
        ) { key in
            guard let id = key.parts.first.flatMap({ Int($0) }) else { return nil }
            return try await catalog.product(id: id)
        }
    }
}

/// What the cold-start nemesis measured in one run.
final class ColdStartProbe: Sendable {
    private struct State {
        var burst = 0
        var warmDuration: Duration?
        var warmQueries = 0
    }
    private let state = Mutex(State())

    func warmed(in duration: Duration, sourceQueries: Int) {
        state.withLock {
            $0.warmDuration = duration
            $0.warmQueries = sourceQueries
        }
    }

    func burst(_ queries: Int) { state.withLock { $0.burst = queries } }

    /// The row's figures: source load before the flush and in the second after traffic flowed
    /// again (after the flush, or after the warm), and the warm's cost.
    func figures(run: DemoScenarios.SetupRun, flushAt: Duration) -> [String: Double] {
        let series = run.timeline.series(.sourceQuery)
        let perSecond = 1 / run.timeline.bucket.cacheSeconds
        let flushBucket = Int(flushAt / run.timeline.bucket)
        let before = series.prefix(flushBucket).suffix(Int(perSecond.rounded()))
        let after = series.dropFirst(flushBucket).prefix(Int(perSecond.rounded()))
        let measured = state.withLock { $0 }
        var figures = [
            "source_qps_before_flush": Double(before.reduce(0, +)) / Double(max(1, before.count)) * perSecond,
            "peak_source_qps_after_flush": Double(after.max() ?? 0) * perSecond,
            "source_queries_1s_after_flush": Double(measured.burst),
        ]
        if let warmDuration = measured.warmDuration {
            figures["warm_seconds"] = warmDuration.cacheSeconds
            figures["warm_source_queries"] = Double(measured.warmQueries)
        }
        return figures
    }
}
