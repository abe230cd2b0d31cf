import Foundation
import NIOCore
import Redis
import RedisServerHarness
import Strata
import StrataRedis

/// What a cache hit through the Redis tier costs compared with a plain `GET` of the same bytes:
/// `StrataCache.value(for:)` with the in-process tier off (breaker, `RedisCacheTier.get`,
/// ``CacheEnvelope`` decode, codec decode, events) against `RedisClient.send(GET)` of the very key
/// the cache reads, on one private local `redis-server`, in the same run.
///
/// One value (a ~100-byte struct) is cached three ways: as raw bytes (its JSON text through
/// `RawBytesCacheCodec`, so no value decoding), with `BinaryCacheCodec` and with `JSONCacheCodec`.
/// Each codec has its own GET reference reading that codec's stored envelope.
///
/// The variants alternate round by round (so each sees the same machine load) and the figures
/// are summed over all rounds. CPU time per operation is the process's user + system time
/// (`getrusage`) over the round, divided by its operations. A `redis_hit_vs_get*` ratio is the
/// median over rounds of the hit's CPU over its codec's GET's CPU in the same round.
/// `redis_hit_vs_get` is the raw-bytes codec (the cache's own machinery; the target of issue #5),
/// `_binary` and `_json` add that codec's decoding; `_c1` is one task at a time.
struct RedisTierBenchmark {
    /// The cached value: about 100 bytes as JSON.
    struct User: Codable, Equatable {
        var id: Int
        var name: String
        var email: String
        var plan: String
        var active: Bool
        var score: Double
    }

    /// One measured variant.
    struct Row: Codable {
        var variant: String
        var tasks: Int
        var operations: Int
        var opsPerSecond: Double
        var cpuMicrosecondsPerOp: Double
    }

    /// All rows and the cost ratios.
    struct Report: Codable {
        var rows: [Row]
        var ratios: [String: Double]
        /// Bytes of the stored envelope (what each GET reads), per codec.
        var storedBytes: [String: Int]
        /// CPU nanoseconds per in-process step, no Redis: what the cache adds to a `GET`.
        var inProcessNanoseconds: [String: Double]

        func table() -> String {
            var lines = ["variant                 tasks       ops/s  CPU µs/op"]
            for row in rows {
                lines.append(
                    row.variant.padding(toLength: 23, withPad: " ", startingAt: 0)
                        + String(format: "%6d %11.0f %10.2f", row.tasks, row.opsPerSecond, row.cpuMicrosecondsPerOp))
            }
            lines.append("stored envelope: " + storedBytes.sorted(by: { $0.key < $1.key }).map { "\($0.key) \($0.value) B" }.joined(separator: ", "))
            lines.append("in-process CPU per step (no Redis):")
            for (name, value) in inProcessNanoseconds.sorted(by: { $0.key < $1.key }) {
                lines.append("  " + name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: "%8.0f ns", value))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// How the value is cached.
    enum Codec: String, CaseIterable, Sendable {
        case raw, binary, json
    }

    /// A plain GET of a codec's stored bytes, or a cache hit reading them.
    private struct Variant: Hashable, CaseIterable {
        var codec: Codec
        var throughCache: Bool

        static let allCases = Codec.allCases.flatMap { [Variant(codec: $0, throughCache: false), Variant(codec: $0, throughCache: true)] }

        var name: String { throughCache ? "cache hit (\(codec.rawValue))" : "GET (\(codec.rawValue) bytes)" }
    }

    /// Operations per variant per round, and rounds (odd, for a median).
    var requests = 20_000
    var rounds = 7
    /// Concurrent task counts to measure (1 = one task, one round trip at a time).
    var concurrency = [1, 16]

    func run() async throws -> Report {
        let server = try await RedisServer.start(.init(enableDebugCommand: false))
        do {
            let report = try await run(on: RedisEndpoint(host: server.host, port: server.port))
            await server.stop()
            return report
        } catch {
            await server.stop()
            throw error
        }
    }

    private func run(on endpoint: RedisEndpoint) async throws -> Report {
        let client = try RedisClient(configuration: RedisConnectionConfiguration(endpoint: endpoint, commandTimeout: .seconds(10)))
        let tier = try RedisCacheTier(client: client, configuration: .init(operationTimeout: .seconds(10)))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            let outcome: Result<Report, any Error>
            do {
                outcome = .success(try await measureAll(client, tier))
            } catch {
                outcome = .failure(error)
            }
            client.shutdown()
            try await group.waitForAll()
            return try outcome.get()
        }
    }

    /// Every scenario and variant, then the in-process step costs.
    private func measureAll(_ client: RedisClient, _ tier: RedisCacheTier) async throws -> Report {
        // The whole read path with the in-process tier off: every read is a Redis-tier hit.
        let hits = try HitFixture(cache: StrataCache(configuration: .init(memoryMaximumEntries: 0), distributedTier: tier))
        try await hits.fill()
        var storedBytes: [String: Int] = [:]
        for codec in Codec.allCases {
            guard let stored = try await tier.get(hits.storageKey(codec)) else { throw BenchmarkError(message: "unexpected miss") }
            storedBytes[codec.rawValue] = stored.count
        }
        var rows: [Row] = []
        var ratios: [String: Double] = [:]
        var getCPU: [Int: Double] = [:]
        for tasks in concurrency {
            let (cpu, wall, perRound) = try await measureVariants(tasks: tasks) { variant in
                if variant.throughCache { return { try await hits.hit(variant.codec) } }
                let key = hits.storageKey(variant.codec)
                return { _ = try await client.send(GET(key)) }
            }
            let total = Double(requests * rounds)
            for variant in Variant.allCases {
                rows.append(Row(
                    variant: variant.name, tasks: tasks, operations: requests * rounds,
                    opsPerSecond: total / wall[variant, default: 1], cpuMicrosecondsPerOp: cpu[variant, default: 0] * 1e6 / total))
            }
            let suffix = tasks == 1 ? "_c1" : ""
            for codec in Codec.allCases {
                let get = Variant(codec: codec, throughCache: false)
                let hit = Variant(codec: codec, throughCache: true)
                // CPU per hit over CPU per GET of the same stored bytes (lower is better): the
                // median over rounds of each round's ratio, so one disturbed round cannot swing it.
                let roundRatios = zip(perRound[hit, default: []], perRound[get, default: []]).map { $0 / max($1, 1e-9) }
                ratios["redis_hit_vs_get_\(codec.rawValue)" + suffix] = roundRatios.sorted()[roundRatios.count / 2]
                ratios["throughput_hit_vs_get_\(codec.rawValue)" + suffix] = wall[get, default: 0] / wall[hit, default: 1]
            }
            // The target's ratio: the cache's own machinery, no value decoding.
            ratios["redis_hit_vs_get" + suffix] = ratios["redis_hit_vs_get_raw" + suffix]
            getCPU[tasks] = cpu[Variant(codec: .json, throughCache: false), default: 0] * 1e9 / total
        }
        let steps = try await hits.stepCosts(count: requests * 5)
        // What JSON decoding alone spends, against a whole GET: the target allows 0.25.
        if let decode = steps["json value decode"], let get = getCPU[concurrency.max() ?? 1], get > 0 {
            ratios["json_decode_vs_get"] = decode / get
        }
        return Report(rows: rows, ratios: ratios, storedBytes: storedBytes, inProcessNanoseconds: steps)
    }

    /// Every variant, round after round; returns summed CPU and wall seconds per variant.
    private func measureVariants(
        tasks: Int, _ operation: (Variant) -> @Sendable () async throws -> Void
    ) async throws -> (cpu: [Variant: Double], wall: [Variant: Double], cpuPerRound: [Variant: [Double]]) {
        var cpu: [Variant: Double] = [:]
        var wall: [Variant: Double] = [:]
        var cpuPerRound: [Variant: [Double]] = [:]
        // Warm-up: connections, allocator caches, lazily initialised codec metadata.
        for variant in Variant.allCases { _ = try await measure(operation(variant), tasks: tasks, count: requests / 4) }
        for _ in 0..<rounds {
            for variant in Variant.allCases {
                let (seconds, cpuSeconds) = try await measure(operation(variant), tasks: tasks, count: requests)
                wall[variant, default: 0] += seconds
                cpu[variant, default: 0] += cpuSeconds
                cpuPerRound[variant, default: []].append(cpuSeconds)
            }
        }
        return (cpu, wall, cpuPerRound)
    }

    /// Runs `count` operations split over `tasks` tasks; returns wall and CPU seconds.
    private func measure(
        _ operation: @escaping @Sendable () async throws -> Void, tasks: Int, count: Int
    ) async throws -> (wall: Double, cpu: Double) {
        let perTask = count / tasks
        let cpuBefore = CPUTime.ofThisProcess()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask { for _ in 0..<perTask { try await operation() } }
            }
            try await group.waitForAll()
        }
        return ((ContinuousClock.now - started).seconds, CPUTime.ofThisProcess() - cpuBefore)
    }
}
