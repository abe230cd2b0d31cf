import NIOCore
import Redis
import RedisServerHarness
import Strata
import StrataDemo
import StrataRedis
import Testing

/// The hot list end to end on a real Redis: one instance reads and publishes, another warms from
/// what was published.
@Suite struct HotKeyWarmingLiveTests {
    private func store(_ client: RedisClient, prefix: String, keys: Int = 1_000) throws -> RedisHotKeyStore {
        try RedisHotKeyStore(client: client, configuration: .init(keyPrefix: prefix, keysPerNamespace: keys, lifetime: .seconds(60)))
    }

    @Test(.timeLimit(.minutes(1))) func publishesAddUpAndTheListIsTrimmedAndExpires() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await RedisServer.shared(named: "strata-redis-tier")) { _, client in
            let store = try store(client, prefix: prefix, keys: 2)
            try await store.publish(["n": [HotKey(storageKey: "a", count: 5), HotKey(storageKey: "b", count: 1)]])
            try await store.publish(["n": [HotKey(storageKey: "a", count: 5), HotKey(storageKey: "b", count: 1), HotKey(storageKey: "c", count: 3)]])
            #expect(try await store.rankedKeys(namespace: "n", limit: 10) == [HotKey(storageKey: "a", count: 10), HotKey(storageKey: "c", count: 3)])
            #expect(try await store.hotKeys(namespace: "n", limit: 1) == ["a"])
            #expect(try await store.hotKeys(namespace: "nothing-published", limit: 5) == [])
            let ttl = try await client.rawValue(["PTTL", store.listKey(namespace: "n")])
            guard case .integer(let milliseconds) = ttl else { Issue.record("PTTL: \(ttl)"); return }
            #expect(milliseconds > 0 && milliseconds <= 60_000)
        }
    }

    @Test(.timeLimit(.minutes(1))) func thePublisherServiceAddsWhatWasCountedEveryInterval() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await RedisServer.shared(named: "strata-redis-tier")) { _, client in
            let tracker = try HotKeyTracker(configuration: .init(sampleEvery: 1))
            let store = try store(client, prefix: prefix)
            let clock = ManualCacheClock()
            let publisher = HotKeyPublisher(tracker: tracker, store: store, configuration: .init(interval: .seconds(30)), clock: clock)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await publisher.run() }
                tracker.record(namespace: "n", storageKey: "a", count: 4)
                while clock.sleeperCount == 0 { await Task.yield() }
                clock.advance(by: .seconds(30))
                try await waitUntil { try await store.rankedKeys(namespace: "n", limit: 5) == [HotKey(storageKey: "a", count: 4)] }
                tracker.record(namespace: "n", storageKey: "a", count: 2)
                while clock.sleeperCount == 0 { await Task.yield() }
                clock.advance(by: .seconds(30))
                try await waitUntil { try await store.rankedKeys(namespace: "n", limit: 5) == [HotKey(storageKey: "a", count: 6)] }
                group.cancelAll()
                try? await group.waitForAll()
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSecondInstanceWarmsThePublishedHotKeysWithoutLoading() async throws {
        let server = try await RedisServer.shared(named: "strata-redis-tier")
        let prefix = tierKeyPrefix()
        let products = try CacheNamespace<String>("hot\(UInt32.random(in: 0...UInt32.max))", codec: StringCacheCodec())
        let zipf = ZipfDistribution(count: 2_000, exponent: 1.0)
        // Instance A serves a Zipf workload and publishes what it saw.
        let trueTop = try await withTier(on: server) { tier, client in
            let cache = try StrataCache(
                configuration: .init(hotKeys: .init(keysPerNamespace: 100, sampleEvery: 1)), distributedTier: tier)
            var random = SeededRandom(seed: 11)
            var exact: [Int: Int] = [:]
            for _ in 0..<6_000 {
                let id = zipf.next(using: &random)
                exact[id, default: 0] += 1
                _ = try await cache.value(for: products.key(id)) { "product \(id)" }
            }
            let publisher = HotKeyPublisher(tracker: try #require(cache.hotKeyTracker), store: try store(client, prefix: prefix))
            #expect(await publisher.publishNow())
            return exact.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map(\.key)
        }
        // Instance B: its own client, pool and in-process tier.
        try await withTier(on: server) { tier, client in
            let cache = try StrataCache(distributedTier: tier)
            let loads = Counter()
            let published = try await store(client, prefix: prefix).hotKeys(namespace: products.name, limit: 30)
            #expect(Set(trueTop.map { products.key($0).storageKey }).isSubset(of: Set(published)))
            let summary = try await cache.warm(products, from: try store(client, prefix: prefix), limit: 30) { key in
                loads.increment()
                return "product \(key.parts[0])"
            }
            #expect(summary.total == 30)
            #expect(summary.loaded == 30)
            #expect(loads.value == 0)
            let before = cache.statistics()
            for id in trueTop {
                let value = try await cache.value(for: products.key(id)) { () -> String in
                    loads.increment()
                    return "product \(id)"
                }
                #expect(value == "product \(id)")
            }
            #expect(loads.value == 0)
            #expect(cache.statistics().memoryHits - before.memoryHits == 10)
        }
    }
}
