// Hits without I/O: the in-process tier against the simplest thread-safe dictionary, a
// StrataCache in-process hit, and a StrataCache distributed-tier hit through a tier that answers
// from memory (so what is measured is the cache's own read path: breaker, envelope, codec, events,
// boxing; not Redis). Each measured iteration runs the operation 1000 times (scalingFactor .kilo);
// the printed figures are per single operation, malloc counts included.

import Benchmark
import Strata
import Synchronization

/// Wall clock, throughput and malloc counts (the ARC counters crash on Swift 6.3).
let hitMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

/// A small cache value: a reference and two words.
struct Payload: Codable, Sendable {
    var data: [UInt8]
    var version: Int
    var flags: Int
}

/// About 100 bytes as JSON.
struct User: Codable, Sendable {
    var id: Int
    var name: String
    var email: String
    var plan: String
    var active: Bool
    var score: Double
}

/// The reference: one lock around one dictionary.
final class LockedDictionary: Sendable {
    let storage: Mutex<[String: Payload]>
    init(_ values: [String: Payload]) { storage = Mutex(values) }
    func value(forKey key: String) -> Payload? { storage.withLock { $0[key] } }
}

/// A distributed tier that answers from a dictionary filled before the measurement.
final class InMemoryTier: DistributedCacheTier {
    let entries = Mutex<[String: [UInt8]]>([:])
    func get(_ key: String) async throws -> [UInt8]? { entries.withLock { $0[key] } }
    func get(_ keys: [String]) async throws -> [[UInt8]?] { entries.withLock { stored in keys.map { stored[$0] } } }
    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws { entries.withLock { $0[key] = value } }
    func remove(_ keys: [String]) async throws { entries.withLock { stored in keys.forEach { stored[$0] = nil } } }
}

struct UnexpectedMiss: Error {}

let keyCount = 10_000
let keys = (0..<keyCount).map { "user:\($0):profile" }
let user = User(id: 1_234_567, name: "Ada Lovelace", email: "ada.lovelace@example.com", plan: "pro", active: true, score: 97.25)
/// No early refresh: a hit never draws a random number or starts a load.
let hitOptions = CacheEntryOptions(freshFor: .seconds(3600), refresh: .init(beta: nil))

func benchmarks() {
    Benchmark.defaultConfiguration.maxDuration = .seconds(2)
    Benchmark.defaultConfiguration.maxIterations = 1_000_000
    let configuration = Benchmark.Configuration(metrics: hitMetrics, scalingFactor: .kilo)
    let payload = Payload(data: [1, 2, 3], version: 1, flags: 0)

    let dictionary = LockedDictionary(Dictionary(uniqueKeysWithValues: keys.map { ($0, payload) }))
    Benchmark("Mutex<[String: Payload]> lookup (reference)", configuration: configuration) { benchmark in
        for index in benchmark.scaledIterations { blackHole(dictionary.value(forKey: keys[index % keyCount])) }
    }

    let memory = try? MemoryCache<String, Payload>(.init(maximumCount: keyCount * 2))
    for key in keys { memory?.setValue(payload, forKey: key) }
    Benchmark("MemoryCache hit", configuration: configuration) { benchmark in
        guard let memory else { throw UnexpectedMiss() }
        for index in benchmark.scaledIterations { blackHole(memory.value(forKey: keys[index % keyCount])) }
    }

    let inProcess = try? StrataCache(configuration: .init(memoryMaximumEntries: keyCount * 2))
    let payloads = try? CacheNamespace<Payload>("payloads", codec: JSONCacheCodec(), defaultOptions: hitOptions)
    let payloadKeys = keys.compactMap { payloads?.key($0) }
    Benchmark("StrataCache in-process hit", configuration: configuration) { benchmark in
        guard let inProcess else { throw UnexpectedMiss() }
        // Filled once, before the first measured iteration (the closure runs once per iteration).
        if inProcess.statistics().memoryEntries < keyCount {
            for key in payloadKeys { _ = try await inProcess.value(for: key) { payload } }
        }
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            blackHole(try await inProcess.value(for: payloadKeys[index % keyCount]) { throw UnexpectedMiss() })
        }
    }

    // Distributed-tier hits: the in-process tier is off, so every read goes through the tier.
    let tier = InMemoryTier()
    let distributed = try? StrataCache(configuration: .init(memoryMaximumEntries: 0), distributedTier: tier)
    func distributedHit<Value: Sendable>(_ name: String, _ namespace: CacheNamespace<Value>?, _ value: Value) {
        Benchmark("StrataCache distributed-tier hit, no I/O (\(name))", configuration: configuration) { benchmark in
            guard let distributed, let key = namespace?.key(1) else { throw UnexpectedMiss() }
            try await distributed.set(value, for: key)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try await distributed.value(for: key) { throw UnexpectedMiss() })
            }
        }
    }
    let rawValue = (try? JSONCacheCodec<User>().encode(user)) ?? []
    distributedHit("raw bytes", try? CacheNamespace<[UInt8]>("raw", codec: RawBytesCacheCodec(), defaultOptions: hitOptions), rawValue)
    distributedHit("binary", try? CacheNamespace<User>("binary", codec: BinaryCacheCodec(), defaultOptions: hitOptions), user)
    distributedHit("json", try? CacheNamespace<User>("json", codec: JSONCacheCodec(), defaultOptions: hitOptions), user)
}
