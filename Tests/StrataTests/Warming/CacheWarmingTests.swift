import Synchronization
import Testing

@testable import Strata

/// A fixed hot list, or a failing one.
struct StaticHotKeySource: HotKeySource {
    var keys: [String]
    var failing = false

    func hotKeys(namespace: String, limit: Int) async throws -> [String] {
        if failing { throw LoaderFailure() }
        return Array(keys.prefix(limit))
    }
}

/// Tracks how many loads run at once, and the most ever seen.
final class InFlight: Sendable {
    private let state = Mutex((current: 0, maximum: 0))
    var maximum: Int { state.withLock { $0.maximum } }

    func enter() {
        state.withLock { state in
            state.current += 1
            state.maximum = max(state.maximum, state.current)
        }
    }

    func leave() { state.withLock { $0.current -= 1 } }
}

@Suite struct CacheWarmingTests {
    private func makeCache(tier: FakeDistributedTier = FakeDistributedTier()) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: ManualCacheClock()), distributedTier: tier)
    }

    @Test func noMoreThanTheConcurrencyLimitLoadsAtOnce() async throws {
        let cache = try makeCache()
        let items = try makeNamespace()
        let probe = LoaderProbe()
        let inFlight = InFlight()
        probe.close()
        let keys = (0..<40).map { items.key($0) }
        try await withThrowingTaskGroup(of: WarmSummary.self) { group in
            group.addTask {
                try await cache.warm(items, keys: keys, concurrency: 4) { key in
                    inFlight.enter()
                    defer { inFlight.leave() }
                    return try await probe.load("v\(key.parts[0])")
                }
            }
            await eventually { probe.waitingCount == 4 }
            for _ in 0..<50 { await Task.yield() }
            #expect(probe.waitingCount == 4)
            probe.open()
            let summary = try #require(try await group.next())
            #expect(summary.loaded == 40)
            #expect(summary.failed == 0)
        }
        #expect(inFlight.maximum <= 4)
        #expect(probe.callCount == 40)
    }

    @Test func aFailingKeyIsCountedAndTheWarmGoesOn() async throws {
        let cache = try makeCache()
        let items = try makeNamespace()
        let keys = (0..<20).map { items.key($0) } + [items.key(0)]
        let summary = try await cache.warm(items, keys: keys, concurrency: 3) { key in
            let id = Int(key.parts[0])!
            if id % 2 == 1 { throw LoaderFailure() }
            return id % 4 == 2 ? nil : "v\(id)"
        }
        #expect(summary.total == 20)
        #expect(summary.failed == 10)
        #expect(summary.notFound == 5)
        #expect(summary.loaded == 5)
        #expect(try await cache.cachedValue(for: items.key(4)) == "v4")
    }

    @Test func progressGrowsByOneKeyAtATimeUpToTheTotal() async throws {
        let cache = try makeCache()
        let items = try makeNamespace()
        let reports = Mutex<[WarmProgress]>([])
        _ = try await cache.warm(items, keys: (0..<30).map { items.key($0) }, concurrency: 5, progress: { progress in
            reports.withLock { $0.append(progress) }
        }) { key in
            if key.parts[0].hasSuffix("7") { throw LoaderFailure() }
            return "v"
        }
        let seen = reports.withLock { $0 }
        #expect(seen.map(\.done) == Array(1...30))
        #expect(seen.allSatisfy { $0.total == 30 })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.failed <= $1.failed })
        #expect(seen.last?.failed == 3)
    }

    @Test func keysAlreadyCachedInEitherTierAreNotLoadedAgain() async throws {
        let tier = FakeDistributedTier()
        let items = try makeNamespace()
        let keys = (0..<10).map { items.key($0) }
        let filler = try makeCache(tier: tier)
        _ = try await filler.warm(items, keys: keys) { _ in "v" }
        let calls = Counter()
        let fresh = try makeCache(tier: tier)
        let fromRedis = try await fresh.warm(items, keys: keys) { _ in
            calls.increment()
            return "v"
        }
        #expect(fromRedis.loaded == 10)
        #expect(calls.value == 0)
        #expect(fresh.statistics().memoryEntries == 10)
    }

    @Test func aHotListIsWarmedAndForeignKeysAreSkipped() async throws {
        let cache = try makeCache()
        let items = try makeNamespace()
        let other = try CacheNamespace<String>("other", codec: StringCacheCodec())
        let source = StaticHotKeySource(keys: [items.key(1).storageKey, other.key(2).storageKey, items.key(3).storageKey])
        let summary = try await cache.warm(items, from: source, limit: 10) { key in "v\(key.parts[0])" }
        #expect(summary.loaded == 2)
        #expect(summary.skipped == 1)
        #expect(try await cache.cachedValue(for: items.key(3)) == "v3")
    }

    @Test func anUnreadableHotListThrowsAndLoadsNothing() async throws {
        let cache = try makeCache()
        let items = try makeNamespace()
        await #expect(throws: CacheError.self) {
            try await cache.warm(items, from: StaticHotKeySource(keys: [], failing: true)) { _ in "v" }
        }
        await #expect(throws: CacheError.self) {
            try await cache.warm(items, keys: [], concurrency: 0) { _ in "v" }
        }
    }
}

@Suite struct CacheReadinessTests {
    @Test func theServiceMarksReadyAfterItsWarmsEvenWhenOneFails() async throws {
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()), distributedTier: FakeDistributedTier())
        let items = try makeNamespace()
        let readiness = CacheReadiness()
        let loads = Counter()
        let service = CacheWarmingService(readiness: readiness, jobs: [
            .hotKeys(cache: cache, namespace: items, source: StaticHotKeySource(keys: [], failing: true)) { _ in "v" },
            .keys(cache: cache, namespace: items, keys: [items.key(1), items.key(2)]) { _ in
                // The readiness flips only after the warm: never while a load runs.
                #expect(!readiness.isReady)
                loads.increment()
                return "v"
            },
        ])
        #expect(!readiness.isReady)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await readiness.waitUntilReady() }
            let summaries = await service.warmAndMarkReady()
            #expect(summaries["item"]?.loaded == 2)
            try await group.waitForAll()
        }
        #expect(readiness.isReady)
        #expect(loads.value == 2)
        try await readiness.waitUntilReady()
    }

    @Test func aWaiterThatIsCancelledStopsWaiting() async throws {
        let readiness = CacheReadiness()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await readiness.waitUntilReady() }
            group.cancelAll()
            await #expect(throws: CancellationError.self) { try await group.next() }
        }
        readiness.markReady()
        readiness.markNotReady()
        #expect(!readiness.isReady)
    }
}
