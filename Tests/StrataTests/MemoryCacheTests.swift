@testable import Strata
import Synchronization
import Testing

/// Collects what the eviction listener was told.
final class RemovalLog: Sendable {
    private let events = Mutex<[(key: Int, value: String, cause: EvictionCause)]>([])

    var listener: @Sendable (Int, String, EvictionCause) -> Void {
        { key, value, cause in self.events.withLock { $0.append((key, value, cause)) } }
    }

    var all: [(key: Int, value: String, cause: EvictionCause)] { events.withLock { $0 } }

    func count(of cause: EvictionCause) -> Int { all.filter { $0.cause == cause }.count }
}

@Suite struct MemoryCacheTests {
    @Test func theCountBoundHoldsAfterEveryWrite() throws {
        let log = RemovalLog()
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 100, evictionListener: log.listener))
        for key in 0..<5_000 {
            cache.setValue("v\(key)", forKey: key)
            #expect(cache.count <= 100)
        }
        #expect(cache.count == 100)
        #expect(cache.stats().evictions == 4_900)
        #expect(log.count(of: .size) == 4_900)
    }

    @Test func aStoreIsRefusedWhenItsKeyWasRemovedSinceTheStamp() throws {
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 100))
        let stale = cache.removalStamp(forKey: 7)
        cache.removeValue(forKey: 7)  // absent, still a removal: an invalidation of an uncached key
        #expect(!cache.setValue("old", forKey: 7, unlessRemovedSince: stale))
        #expect(cache.value(forKey: 7) == nil)

        let current = cache.removalStamp(forKey: 7)
        cache.setValue("unrelated write", forKey: 8)
        #expect(cache.setValue("new", forKey: 7, unlessRemovedSince: current))
        #expect(cache.value(forKey: 7) == "new")

        let beforeClear = cache.removalStamp(forKey: 7)
        cache.removeAll()
        #expect(!cache.setValue("old", forKey: 7, unlessRemovedSince: beforeClear))
    }

    @Test func theWeightBoundHoldsAndOversizedEntriesAreNotKept() throws {
        let log = RemovalLog()
        let cache = try MemoryCache<Int, String>(
            .init(maximumWeight: 1_000, weigher: { _, value in value.utf8.count }, evictionListener: log.listener))
        var random = SplitMix(state: 9)
        for key in 0..<2_000 {
            cache.setValue(String(repeating: "x", count: Int.random(in: 1...60, using: &random)), forKey: key)
            #expect(cache.weightedSize <= 1_000)
        }
        cache.setValue(String(repeating: "y", count: 1_001), forKey: -1)
        #expect(cache.value(forKey: -1) == nil)
        #expect(log.all.last?.key == -1 && log.all.last?.cause == .size)
        // Growing an existing entry past the bound replaces it and keeps nothing; the rest stays.
        let countBefore = cache.count
        let survivor = try #require((0..<2_000).first { cache.value(forKey: $0) != nil })
        cache.setValue(String(repeating: "z", count: 1_001), forKey: survivor)
        #expect(cache.value(forKey: survivor) == nil)
        #expect(cache.count == countBefore - 1)
        #expect(log.all.suffix(2).map(\.cause) == [.replaced, .size])
        #expect(cache.weightedSize <= 1_000)
    }

    @Test func expiredEntriesAreNeverReturned() throws {
        let clock = ManualCacheClock()
        let log = RemovalLog()
        let cache = try MemoryCache<Int, String>(
            .init(maximumCount: 10, clock: clock, evictionListener: log.listener))
        cache.setValue("a", forKey: 1, expiresAt: clock.now.advanced(by: .seconds(10)))
        cache.setValue("b", forKey: 2)
        clock.advance(by: .milliseconds(9_999))
        #expect(cache.value(forKey: 1) == "a")
        clock.advance(by: .milliseconds(1))
        #expect(cache.value(forKey: 1) == nil)
        #expect(cache.value(forKey: 2) == "b")
        #expect(cache.count == 1)
        #expect(cache.stats().expirations == 1)
        #expect(log.all.map(\.cause) == [.expired])
    }

    @Test func writesSweepExpiredEntriesWithoutLookups() throws {
        let clock = ManualCacheClock()
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 1_000, clock: clock))
        for key in 0..<200 { cache.setValue("e", forKey: key, expiresAt: clock.now.advanced(by: .seconds(1))) }
        clock.advance(by: .seconds(2))
        // Each write inspects a couple of slots, so 200 writes visit all 200 expired slots.
        for key in 1_000..<1_200 { cache.setValue("f", forKey: key) }
        #expect(cache.count == 200)
        #expect(cache.stats().expirations == 200)
    }

    @Test func removeExpiredDropsEveryExpiredEntryAtOnce() throws {
        let clock = ManualCacheClock()
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 1_000, clock: clock))
        for key in 0..<300 {
            cache.setValue("e", forKey: key, expiresAt: clock.now.advanced(by: .seconds(key < 100 ? 1 : 60)))
        }
        clock.advance(by: .seconds(2))
        #expect(cache.removeExpired() == 100)
        #expect(cache.count == 200)
    }

    @Test func aValueThatHasAlreadyExpiredReplacesButIsNotStored() throws {
        let clock = ManualCacheClock()
        let log = RemovalLog()
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 10, clock: clock, evictionListener: log.listener))
        cache.setValue("old", forKey: 1)
        cache.setValue("stale", forKey: 1, expiresAt: clock.now)
        #expect(cache.value(forKey: 1) == nil)
        #expect(cache.count == 0)
        #expect(log.all.map(\.value) == ["old"])
        #expect(log.all.map(\.cause) == [.replaced])
    }

    @Test func theListenerHearsEveryCauseOutsideTheLock() throws {
        let clock = ManualCacheClock()
        let log = RemovalLog()
        // The listener uses the cache: it would deadlock if called under a shard lock.
        let holder = Mutex<MemoryCache<Int, String>?>(nil)
        let cache = try MemoryCache<Int, String>(
            .init(
                maximumCount: 2, clock: clock,
                evictionListener: { key, value, cause in
                    _ = holder.withLock { $0 }?.count
                    log.listener(key, value, cause)
                }))
        holder.withLock { $0 = cache }
        cache.setValue("a", forKey: 1)
        cache.setValue("a2", forKey: 1)  // replaced
        #expect(cache.removeValue(forKey: 1) == "a2")  // explicit
        cache.setValue("b", forKey: 2, expiresAt: clock.now.advanced(by: .seconds(1)))
        clock.advance(by: .seconds(1))
        #expect(cache.value(forKey: 2) == nil)  // expired
        for key in 10..<20 { cache.setValue("c", forKey: key) }  // size
        #expect(log.all.prefix(3).map(\.cause) == [.replaced, .explicit, .expired])
        #expect(log.all.prefix(3).map(\.value) == ["a", "a2", "b"])
        #expect(log.count(of: .size) == 8)
        let stats = cache.stats()
        #expect(stats.replacements == 1 && stats.removals == 1 && stats.expirations == 1 && stats.evictions == 8)
        #expect(EvictionCause.allCases.map { stats.count(of: $0) } == [8, 1, 1, 1])
    }

    @Test func removeAllWhereRemovesOnlyMatchingEntries() throws {
        let log = RemovalLog()
        let cache = try MemoryCache<Int, String>(
            .init(maximumCount: 1_000, shardCount: 4, evictionListener: log.listener))
        for key in 0..<100 { cache.setValue(key % 2 == 0 ? "even" : "odd", forKey: key) }
        #expect(cache.removeAll(where: { _, value in value == "even" }) == 50)
        #expect(cache.count == 50)
        #expect((0..<100).allSatisfy { (cache.value(forKey: $0) == nil) == ($0 % 2 == 0) })
        #expect(log.count(of: .explicit) == 50)
        cache.removeAll()
        #expect(cache.count == 0 && cache.weightedSize == 0)
        #expect(log.count(of: .explicit) == 100)
        cache.setValue("again", forKey: 1)
        #expect(cache.value(forKey: 1) == "again")
    }

    @Test func removeValueReturnsTheOldValueOnce() throws {
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 10))
        cache.setValue("a", forKey: 1)
        #expect(cache.removeValue(forKey: 1) == "a")
        #expect(cache.removeValue(forKey: 1) == nil)
        #expect(cache.stats().removals == 1)
    }

    @Test func statisticsCountHitsAndMisses() throws {
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 10))
        cache.setValue("a", forKey: 1)
        _ = cache.value(forKey: 1)
        _ = cache.value(forKey: 1)
        _ = cache.value(forKey: 2)
        let stats = cache.stats()
        #expect(stats.hits == 2 && stats.misses == 1)
        #expect(abs(stats.hitRatio - 2.0 / 3.0) < 1e-9)
    }

    @Test(arguments: [
        (MemoryCache<Int, String>.Configuration(), CacheConfigurationError.Code.missingBound),
        (.init(maximumCount: 0), .nonPositiveBound),
        (.init(maximumWeight: -1, weigher: { _, _ in 1 }), .nonPositiveBound),
        (.init(maximumCount: 10, weigher: { _, _ in 1 }), .weigherWithoutWeightBound),
        (.init(maximumWeight: 10), .weightBoundWithoutWeigher),
        (.init(maximumCount: 100, shardCount: 3), .invalidShardCount),
        (.init(maximumCount: 4, shardCount: 8), .invalidShardCount),
    ])
    func incoherentConfigurationsAreRejected(
        configuration: MemoryCache<Int, String>.Configuration, code: CacheConfigurationError.Code
    ) {
        #expect(throws: CacheConfigurationError.self) { try MemoryCache(configuration) }
        do {
            _ = try MemoryCache(configuration)
        } catch {
            #expect(error.code == code)
        }
    }

    @Test func smallCachesGetOneShardAndLargeOnesUpToFourPerProcessor() throws {
        #expect(MemoryCache<Int, Int>.automaticShardCount(capacity: 500, processors: 8) == 1)
        #expect(MemoryCache<Int, Int>.automaticShardCount(capacity: 8_191, processors: 8) == 1)
        #expect(MemoryCache<Int, Int>.automaticShardCount(capacity: 8_192, processors: 8) == 2)
        #expect(MemoryCache<Int, Int>.automaticShardCount(capacity: 1_000_000, processors: 2) == 8)
        #expect(MemoryCache<Int, Int>.automaticShardCount(capacity: 100_000_000, processors: 64) == 64)
        #expect(try MemoryCache<Int, Int>(.init(maximumCount: 1_000)).shardCount == 1)
        #expect(try MemoryCache<Int, Int>(.init(maximumCount: 1_000, shardCount: 4)).shardCount == 4)
    }

    @Test func concurrentTasksKeepTheBoundAndTheCounters() async throws {
        let cache = try MemoryCache<Int, String>(.init(maximumCount: 500, shardCount: 4))
        let tasks = 8
        let operations = 5_000
        let lookups = await withTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var random = SplitMix(state: UInt64(task))
                    var lookups = 0
                    for _ in 0..<operations {
                        let key = Int.random(in: 0..<2_000, using: &random)
                        switch Int.random(in: 0..<10, using: &random) {
                        case 0..<6:
                            lookups += 1
                            if cache.value(forKey: key) == nil { cache.setValue("v", forKey: key) }
                        case 6..<9: cache.setValue("w", forKey: key)
                        default: cache.removeValue(forKey: key)
                        }
                    }
                    return lookups
                }
            }
            return await group.reduce(0, +)
        }
        let stats = cache.stats()
        #expect(stats.hits + stats.misses == lookups)
        #expect(cache.count <= 500)
        #expect(cache.weightedSize == cache.count)
    }
}
