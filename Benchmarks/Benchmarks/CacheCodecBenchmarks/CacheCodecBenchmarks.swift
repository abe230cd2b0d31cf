// Micro-benchmarks of what a cache hit adds to a Redis GET: envelope decoding and value decoding
// of a ~100-byte value with the JSON and binary codecs (and the matching encodes, for fills).
// Each measured iteration runs the operation 1000 times (scalingFactor .kilo); the printed
// figures are per single operation, malloc counts included.

import Benchmark
import Strata

/// The metrics that work with package-benchmark on Swift 6.3 (see RESPBenchmarks).
let cacheMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

/// About 100 bytes as JSON.
struct User: Codable {
    var id: Int
    var name: String
    var email: String
    var plan: String
    var active: Bool
    var score: Double
}

let user = User(id: 1_234_567, name: "Ada Lovelace", email: "ada.lovelace@example.com", plan: "pro", active: true, score: 97.25)

func envelope(payload: [UInt8], tags: [CacheEnvelope.TagEpoch] = []) -> CacheEnvelope {
    CacheEnvelope(
        codecID: CacheCodecID.json, createdAt: CacheInstant(millisecondsSinceEpoch: 1_700_000_000_000),
        freshUntil: CacheInstant(millisecondsSinceEpoch: 1_700_000_060_000),
        staleUntil: CacheInstant(millisecondsSinceEpoch: 1_700_003_600_000), recomputeTime: .milliseconds(12),
        dataVersion: 7, tagEpochs: tags, payload: payload)
}

func measure(_ name: String, _ body: @escaping @Sendable () throws -> Void) {
    Benchmark(name, configuration: .init(metrics: cacheMetrics, scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { try body() }
    }
}

func benchmarks() {
    Benchmark.defaultConfiguration.maxDuration = .seconds(2)
    Benchmark.defaultConfiguration.maxIterations = 1_000_000

    let json = JSONCacheCodec<User>()
    let binary = BinaryCacheCodec<User>()
    let jsonPayload = (try? json.encode(user)) ?? []
    let binaryPayload = (try? binary.encode(user)) ?? []
    let plain = envelope(payload: jsonPayload).encoded()
    let tagged = envelope(payload: jsonPayload, tags: [.init(tag: "user:1234567", epoch: 3), .init(tag: "tenant:9", epoch: 41)]).encoded()

    measure("envelope decode (100 B payload)") { blackHole(try CacheEnvelope(decoding: plain)) }
    measure("envelope decode (100 B payload, 2 tags)") { blackHole(try CacheEnvelope(decoding: tagged)) }
    measure("envelope encode (100 B payload)") { blackHole(envelope(payload: jsonPayload).encoded()) }
    measure("json decode (100 B value)") { blackHole(try json.decode(jsonPayload)) }
    measure("binary decode (100 B value)") { blackHole(try binary.decode(binaryPayload)) }
    measure("json encode (100 B value)") { blackHole(try json.encode(user)) }
    measure("binary encode (100 B value)") { blackHole(try binary.encode(user)) }
}
