import Synchronization
import Testing

@testable import Strata

/// Records every batch the loader is asked for.
final class BatchLoaderProbe: Sendable {
    private let requests = Mutex<[[String]]>([])
    let probe = LoaderProbe()

    var requestedKeys: [[String]] { requests.withLock { $0 } }

    func load(_ keys: [CacheKey<String>], known: Set<String>) async throws -> [CacheKey<String>: String] {
        requests.withLock { $0.append(keys.map(\.storageKey)) }
        _ = try await probe.load(0)
        var values: [CacheKey<String>: String] = [:]
        for key in keys where known.contains(key.storageKey) { values[key] = "value of \(key.storageKey)" }
        return values
    }
}

@Suite struct BatchTests {
    let clock = ManualCacheClock()

    func makeCache(tier: FakeDistributedTier? = nil) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: clock, random: { 0.5 }), distributedTier: tier)
    }

    @Test func theLoaderIsAskedOnlyForMissesAndRecordsAreCachedOneByOne() async throws {
        let cache = try makeCache()
        let namespace = try makeNamespace(CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil)))
        let keys = (0..<5).map { namespace.key($0) }
        let known = Set(keys.map(\.storageKey))
        let loader = BatchLoaderProbe()
        _ = try await cache.set("cached", for: keys[2])

        let first = try await cache.values(for: keys) { try await loader.load($0, known: known) }
        #expect(first.count == 5)
        #expect(first[keys[2]] == "cached")
        #expect(loader.requestedKeys == [[0, 1, 3, 4].map { keys[$0].storageKey }])

        let again = try await cache.values(for: keys + [keys[0]]) { try await loader.load($0, known: known) }
        #expect(again == first)
        #expect(loader.requestedKeys.count == 1)
        let single = try await cache.cachedValue(for: keys[4])
        #expect(single == first[keys[4]])
    }

    @Test func keysAlreadyBeingLoadedByAnotherCallerAreNotRequestedAgain() async throws {
        let cache = try makeCache()
        let namespace = try makeNamespace()
        let keys = (0..<3).map { namespace.key($0) }
        let known = Set(keys.map(\.storageKey))
        let singleProbe = LoaderProbe()
        singleProbe.close()
        let loader = BatchLoaderProbe()
        try await withRunningCache(cache) {
            let single = Task { try await fetch(cache, keys[1], loading: "from single", probe: singleProbe) }
            await eventually { singleProbe.waitingCount == 1 }
            let batch = Task { try await cache.values(for: keys) { try await loader.load($0, known: known) } }
            await eventually { loader.requestedKeys.count == 1 }
            singleProbe.open()
            let values = try await batch.value
            #expect(values[keys[1]] == "from single")
            #expect(values[keys[0]] == "value of \(keys[0].storageKey)")
            _ = try await single.value
        }
        #expect(loader.requestedKeys == [[keys[0].storageKey, keys[2].storageKey]])
    }

    @Test func keysTheLoaderDoesNotReturnAreAbsentAndNegativelyCachedWhenAsked() async throws {
        let cache = try makeCache()
        let namespace = try makeNamespace(CacheEntryOptions(freshFor: .seconds(60), negativeFor: .seconds(5)))
        let keys = (0..<2).map { namespace.key($0) }
        let loader = BatchLoaderProbe()
        let known: Set<String> = [keys[0].storageKey]
        let values = try await cache.values(for: keys) { try await loader.load($0, known: known) }
        #expect(values.keys.map(\.storageKey) == [keys[0].storageKey])
        _ = try await cache.values(for: keys) { try await loader.load($0, known: known) }
        #expect(loader.requestedKeys.count == 1)
        clock.advance(by: .seconds(5))
        _ = try await cache.values(for: keys) { try await loader.load($0, known: known) }
        #expect(loader.requestedKeys.last == [keys[1].storageKey])
    }

    @Test func recordsAnotherInstanceCachedComeFromTheDistributedTierInOneRead() async throws {
        let tier = FakeDistributedTier()
        let first = try makeCache(tier: tier)
        let second = try makeCache(tier: tier)
        let namespace = try makeNamespace()
        let keys = (0..<4).map { namespace.key($0) }
        let known = Set(keys.map(\.storageKey))
        let loader = BatchLoaderProbe()
        _ = try await first.values(for: Array(keys[0..<2])) { try await loader.load($0, known: known) }
        let getsBefore = tier.getCount
        let values = try await second.values(for: keys) { try await loader.load($0, known: known) }
        #expect(values.count == 4)
        #expect(tier.getCount == getsBefore + 1)
        #expect(loader.requestedKeys.last == [keys[2].storageKey, keys[3].storageKey])
        #expect(second.statistics().distributedHits == 2)
    }

    @Test func aFailingBatchLoaderServesStaleRecordsWhereFailSafeAllows() async throws {
        let cache = try makeCache()
        let options = CacheEntryOptions(
            freshFor: .seconds(10), staleness: .init(ifError: .seconds(600)), refresh: .init(beta: nil))
        let namespace = try makeNamespace(options)
        let keys = (0..<2).map { namespace.key($0) }
        _ = try await cache.set("stale zero", for: keys[0])
        clock.advance(by: .seconds(11))
        await #expect(throws: CacheError.self) {
            _ = try await cache.values(for: keys) { _ in throw LoaderFailure() }
        }
        let onlyStale = try await cache.values(for: [keys[0]]) { _ in throw LoaderFailure() }
        #expect(onlyStale[keys[0]] == "stale zero")
    }
}
