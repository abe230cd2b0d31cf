import Foundation
import Strata
import Synchronization

/// Measures a `MemoryCache` hit against the simplest thread-safe alternative, a
/// `Mutex<[Key: Value]>` lookup, on the same keys in the same process.
///
/// Both sides look up the same pre-shuffled sequence of string keys, all present, from one
/// thread. Rounds alternate between the two so both see the same machine load, and cost is CPU
/// time per lookup (`getrusage`), the median over the rounds. The ratio
/// `memory_hit_vs_dictionary` is MemoryCache hit throughput over dictionary lookup throughput:
/// what the policy, expiry check and sharding cost on the hottest path.
struct MemoryTierBenchmark {
    var keyCount = 10_000
    var lookupsPerRound = 2_000_000
    var rounds = 7

    struct Report: Codable, Equatable {
        var memoryNanosecondsPerHit: Double
        var dictionaryNanosecondsPerLookup: Double
        /// Throughput of a MemoryCache hit / throughput of a dictionary lookup (higher is better).
        var memoryHitVsDictionary: Double
        /// A `StrataCache` in-process hit (get-or-load) with hot-key tracking on (the default).
        var cacheNanosecondsPerHit: Double = 0
        /// The same hit with tracking off.
        var cacheNanosecondsPerHitUntracked: Double = 0
        /// Tracked hit cost / untracked hit cost (1.0 means tracking is free).
        var hotKeyTrackingCost: Double = 0

        enum CodingKeys: String, CodingKey {
            case memoryNanosecondsPerHit = "memory_ns_per_hit"
            case dictionaryNanosecondsPerLookup = "dictionary_ns_per_lookup"
            case memoryHitVsDictionary = "memory_hit_vs_dictionary"
            case cacheNanosecondsPerHit = "cache_ns_per_hit"
            case cacheNanosecondsPerHitUntracked = "cache_ns_per_hit_untracked"
            case hotKeyTrackingCost = "hot_key_tracking_cost"
        }
    }

    /// A value the size of a small cache entry (a reference and two words).
    struct Payload: Sendable {
        var data: [UInt8]
        var version: Int
        var flags: Int
    }

    /// The reference: one lock around one dictionary.
    final class LockedDictionary: Sendable {
        let storage: Mutex<[String: Payload]>
        init(_ values: [String: Payload]) { storage = Mutex(values) }
        func value(forKey key: String) -> Payload? { storage.withLock { $0[key] } }
    }

    func run() throws -> Report {
        let keys = (0..<keyCount).map { "user:\($0):profile" }
        let payload = Payload(data: [1, 2, 3], version: 1, flags: 0)
        let cache = try MemoryCache<String, Payload>(.init(maximumCount: keyCount * 2))
        for key in keys { cache.setValue(payload, forKey: key) }
        let dictionary = LockedDictionary(Dictionary(uniqueKeysWithValues: keys.map { ($0, payload) }))
        var generator = SystemRandomNumberGenerator()
        let order = (0..<lookupsPerRound).map { _ in keys[Int.random(in: 0..<keyCount, using: &generator)] }

        var memory: [Double] = []
        var reference: [Double] = []
        for round in 0..<rounds {
            // Alternate which side goes first so neither always runs on a warmer cache.
            if round % 2 == 0 {
                reference.append(measure(order) { dictionary.value(forKey: $0) })
                memory.append(measure(order) { cache.value(forKey: $0) })
            } else {
                memory.append(measure(order) { cache.value(forKey: $0) })
                reference.append(measure(order) { dictionary.value(forKey: $0) })
            }
        }
        let memoryNs = median(memory)
        let referenceNs = median(reference)
        return Report(
            memoryNanosecondsPerHit: memoryNs, dictionaryNanosecondsPerLookup: referenceNs,
            memoryHitVsDictionary: referenceNs / memoryNs)
    }

    /// Adds a `StrataCache` hit with hot-key tracking on and off (rounds alternating) to `report`.
    func measureTracking(into report: inout Report) async throws {
        let namespace = try CacheNamespace<String>("bench", codec: StringCacheCodec())
        let keys = (0..<keyCount).map { namespace.key($0) }
        let tracked = try StrataCache(configuration: .init(memoryMaximumEntries: keyCount * 2))
        let untracked = try StrataCache(configuration: .init(memoryMaximumEntries: keyCount * 2, hotKeys: nil))
        for key in keys {
            try await tracked.set("v", for: key)
            try await untracked.set("v", for: key)
        }
        let order = (0..<lookupsPerRound / 4).map { _ in keys[Int.random(in: 0..<keyCount)] }
        var on: [Double] = []
        var off: [Double] = []
        for round in 0..<rounds {
            if round % 2 == 0 {
                off.append(try await measureHits(order, untracked))
                on.append(try await measureHits(order, tracked))
            } else {
                on.append(try await measureHits(order, tracked))
                off.append(try await measureHits(order, untracked))
            }
        }
        report.cacheNanosecondsPerHit = median(on)
        report.cacheNanosecondsPerHitUntracked = median(off)
        report.hotKeyTrackingCost = report.cacheNanosecondsPerHit / report.cacheNanosecondsPerHitUntracked
    }

    private func measureHits(_ order: [CacheKey<String>], _ cache: StrataCache) async throws -> Double {
        var found = 0
        let start = CPUTime.ofThisProcess()
        for key in order where try await cache.value(for: key, load: { "loaded" }) == "v" { found += 1 }
        let elapsed = CPUTime.ofThisProcess() - start
        precondition(found == order.count, "every key must be cached")
        return elapsed * 1e9 / Double(order.count)
    }

    /// CPU nanoseconds per lookup over the whole sequence.
    private func measure(_ order: [String], _ lookup: (String) -> Payload?) -> Double {
        var found = 0
        let start = CPUTime.ofThisProcess()
        for key in order where lookup(key) != nil { found += 1 }
        let elapsed = CPUTime.ofThisProcess() - start
        precondition(found == order.count, "every key must be present")
        return elapsed * 1e9 / Double(order.count)
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}
