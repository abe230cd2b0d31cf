import Foundation
import Testing

@testable import Strata

/// Zipf-distributed key indices (rank 0 hottest) from a seeded generator, so a stream is
/// reproducible within a run.
struct ZipfStream {
    private let cumulative: [Double]
    private var state: UInt64

    init(keys: Int, exponent: Double, seed: UInt64) {
        var sum = 0.0
        cumulative = (1...keys).map { rank in
            sum += 1 / pow(Double(rank), exponent)
            return sum
        }
        state = seed
    }

    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        let uniform = Double(FrequencySketch.mix(state) >> 11) / Double(1 << 53) * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < uniform { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

@Suite struct HotKeyTrackerTests {
    private func tracker(_ configuration: HotKeyTracker.Configuration) throws -> HotKeyTracker {
        try HotKeyTracker(configuration: configuration)
    }

    @Test func theTrueTopTenOfAZipfStreamAreFound() throws {
        let tracker = try tracker(.init(keysPerNamespace: 64, sampleEvery: 1, sketchWidth: 4_096, halvingInterval: 1_000_000))
        var stream = ZipfStream(keys: 20_000, exponent: 1.0, seed: 42)
        var exact: [Int: Int] = [:]
        for _ in 0..<200_000 {
            let key = stream.next()
            exact[key, default: 0] += 1
            tracker.record(namespace: "product", storageKey: "k\(key)")
        }
        let trueTop = Set(exact.sorted { $0.value > $1.value }.prefix(10).map { "k\($0.key)" })
        let found = tracker.topKeys(namespace: "product", limit: 10)
        #expect(Set(found.map(\.storageKey)) == trueTop)
        // Conservative count-min never underestimates (no halving happened in this stream).
        for key in found {
            let truth = exact[Int(key.storageKey.dropFirst())!]!
            #expect(key.count >= truth)
            #expect(key.count <= truth + truth / 10)
        }
    }

    @Test func memoryStaysBoundedWhateverTheNumberOfKeys() throws {
        let tracker = try tracker(.init(keysPerNamespace: 32, sampleEvery: 1))
        tracker.record(namespace: "n", storageKey: "first")
        let sketchBytes = tracker.sketchBytes
        for key in 0..<100_000 { tracker.record(namespace: "n", storageKey: "key-\(key)") }
        #expect(tracker.sketchBytes == sketchBytes)
        #expect(tracker.topKeys(namespace: "n", limit: 1_000).count == 32)
        #expect(tracker.takeCountsSinceLastCall()["n"]?.count ?? 0 <= 32)
    }

    @Test func halvingLetsANewHotSetDisplaceTheOldOne() throws {
        let tracker = try tracker(.init(keysPerNamespace: 10, sampleEvery: 1, sketchWidth: 1_024, halvingInterval: 2_000))
        for round in 0..<500 {
            for key in 0..<10 { tracker.record(namespace: "n", storageKey: "old-\(key)", count: round % 3 == 0 ? 2 : 1) }
        }
        #expect(tracker.topKeys(namespace: "n", limit: 10).allSatisfy { $0.storageKey.hasPrefix("old-") })
        for _ in 0..<500 {
            for key in 0..<10 { tracker.record(namespace: "n", storageKey: "new-\(key)") }
        }
        #expect(tracker.topKeys(namespace: "n", limit: 10).allSatisfy { $0.storageKey.hasPrefix("new-") })
    }

    @Test func countsSinceTheLastCallAreReportedOnce() throws {
        let tracker = try tracker(.init(keysPerNamespace: 8, sampleEvery: 1))
        for _ in 0..<5 { tracker.record(namespace: "a", storageKey: "x") }
        tracker.record(namespace: "b", storageKey: "y", count: 3)
        let first = tracker.takeCountsSinceLastCall()
        #expect(first["a"] == [HotKey(storageKey: "x", count: 5)])
        #expect(first["b"] == [HotKey(storageKey: "y", count: 3)])
        #expect(tracker.takeCountsSinceLastCall().isEmpty)
        tracker.record(namespace: "a", storageKey: "x", count: 2)
        #expect(tracker.takeCountsSinceLastCall() == ["a": [HotKey(storageKey: "x", count: 2)]])
    }

    @Test func namespacesBeyondTheBoundAreNotTracked() throws {
        let tracker = try tracker(.init(sampleEvery: 1, maximumNamespaces: 2))
        for name in ["a", "b", "c"] { tracker.record(namespace: name, storageKey: "k") }
        #expect(tracker.trackedNamespaces == ["a", "b"])
    }

    @Test func incoherentConfigurationsAreRejected() {
        #expect(throws: CacheError.self) { try HotKeyTracker(configuration: .init(sampleEvery: 3)) }
        #expect(throws: CacheError.self) { try HotKeyTracker(configuration: .init(keysPerNamespace: 0)) }
        #expect(throws: CacheError.self) { try HotKeyTracker(configuration: .init(halvingInterval: 0)) }
    }

    @Test func theCacheRecordsOneReadInSampleEveryWithThatWeight() async throws {
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock(), hotKeys: .init(sampleEvery: 16)))
        let items = try makeNamespace()
        let key = items.key("hot")
        for _ in 0..<1_600 { _ = try await cache.value(for: key) { "v" } }
        // One key lives in one shard, whose lookups are counted exactly: 100 samples of weight 16.
        #expect(cache.hotKeyTracker?.topKeys(namespace: "item", limit: 1) == [HotKey(storageKey: key.storageKey, count: 1_600)])
    }

    @Test func trackingCanBeTurnedOff() throws {
        let cache = try StrataCache(configuration: .init(hotKeys: nil))
        #expect(cache.hotKeyTracker == nil)
    }
}

@Suite struct CacheKeyPartsTests {
    @Test func partsComeBackDecodedFromAStorageKey() throws {
        let items = try makeNamespace()
        let key = items.key("a:b", 42, "ü {x}%", "")
        #expect(key.parts == ["a:b", "42", "ü {x}%", ""])
        let parsed = try #require(items.key(storageKey: key.storageKey))
        #expect(parsed == key)
        #expect(parsed.parts == key.parts)
    }

    @Test func foreignOrMalformedStorageKeysAreRefused() throws {
        let items = try makeNamespace()
        let newer = try CacheNamespace<String>("item", version: 2, codec: StringCacheCodec())
        let other = try CacheNamespace<String>("other", codec: StringCacheCodec())
        #expect(items.key(storageKey: newer.key(1).storageKey) == nil)
        #expect(items.key(storageKey: other.key(1).storageKey) == nil)
        #expect(items.key(storageKey: "{item:v1:%zz}") == nil)
        #expect(items.key(storageKey: "{item:v1:a{b}") == nil)
        #expect(items.key(storageKey: "item:v1:a") == nil)
    }
}
