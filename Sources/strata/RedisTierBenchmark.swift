import Foundation
import NIOCore
import Redis
import RedisServerHarness
import Strata
import StrataRedis

/// What a cache hit through the Redis tier costs compared with a plain `GET` of the same bytes:
/// `RedisCacheTier.get` + ``CacheEnvelope`` decode + codec decode of a ~100-byte value, against
/// `RedisClient.send(GET)`, on one private local `redis-server`, in the same run.
///
/// The variants alternate round by round (so each sees the same machine load) and the figures
/// are summed over all rounds. CPU time per operation is the process's user + system time
/// (`getrusage`) over the round, divided by its operations; ratios divide the tier path's cost by
/// the plain `GET`'s. `redis_hit_vs_get` is the JSON codec (the default) with concurrent tasks,
/// the case where decoding weighs most against the network path.
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
        var jsonValueBytes: Int
        var binaryValueBytes: Int
        /// CPU nanoseconds per in-process step, no Redis: what the tier path adds to a `GET`.
        var decodeNanoseconds: [String: Double]

        func table() -> String {
            var lines = ["variant              tasks       ops/s  CPU µs/op"]
            for row in rows {
                lines.append(
                    row.variant.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: "%6d %11.0f %10.2f", row.tasks, row.opsPerSecond, row.cpuMicrosecondsPerOp))
            }
            lines.append("value: \(jsonValueBytes) B as JSON, \(binaryValueBytes) B binary")
            for (name, value) in decodeNanoseconds.sorted(by: { $0.key < $1.key }) {
                lines.append(name.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%8.0f ns", value))
            }
            for (name, value) in ratios.sorted(by: { $0.key < $1.key }) {
                lines.append(name.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%6.3f", value))
            }
            return lines.joined(separator: "\n")
        }
    }

    private enum Variant: String, CaseIterable {
        case rawGetJSON = "get (json bytes)"
        case tierJSON = "tier+envelope+json"
        case rawGetBinary = "get (binary bytes)"
        case tierBinary = "tier+envelope+binary"
        case cacheJSON = "StrataCache hit (json)"
        case cacheBinary = "StrataCache hit (binary)"

        /// Each plain GET reads the very bytes its tier variant decodes.
        var key: String {
            switch self {
            case .rawGetJSON, .tierJSON: "bench:json"
            case .rawGetBinary, .tierBinary: "bench:binary"
            case .cacheJSON, .cacheBinary: ""
            }
        }
    }

    /// Operations per variant per round, and rounds.
    var requests = 20_000
    var rounds = 5
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
        let fixture = try Fixture()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            let outcome: Result<Report, any Error>
            do {
                outcome = .success(try await measureAll(client, tier, fixture))
            } catch {
                outcome = .failure(error)
            }
            client.shutdown()
            try await group.waitForAll()
            return try outcome.get()
        }
    }

    /// Every scenario and variant, then the in-process step costs.
    private func measureAll(_ client: RedisClient, _ tier: RedisCacheTier, _ fixture: Fixture) async throws -> Report {
        try await tier.set(Variant.tierJSON.key, value: fixture.jsonEnvelope, timeToLive: .seconds(3600))
        try await tier.set(Variant.tierBinary.key, value: fixture.binaryEnvelope, timeToLive: .seconds(3600))
        // The whole read path with the in-process tier off: every read is a Redis-tier hit.
        let cache = try StrataCache(configuration: .init(memoryMaximumEntries: 0), distributedTier: tier)
        let options = CacheEntryOptions(freshFor: .seconds(3600), refresh: .init(beta: nil))
        let jsonKey = try CacheNamespace<User>("benchjson", codec: JSONCacheCodec(), defaultOptions: options).key(1)
        let binaryKey = try CacheNamespace<User>("benchbinary", codec: BinaryCacheCodec(), defaultOptions: options).key(1)
        try await cache.set(fixture.user, for: jsonKey)
        try await cache.set(fixture.user, for: binaryKey)
        let user = fixture.user
        var rows: [Row] = []
        var ratios: [String: Double] = [:]
        for tasks in concurrency {
            let (cpu, wall) = try await measureVariants(tasks: tasks) { variant in
                switch variant {
                case .rawGetJSON, .rawGetBinary: { _ = try await client.send(GET(variant.key)) }
                case .tierJSON: { try await fixture.hit(tier, json: true) }
                case .tierBinary: { try await fixture.hit(tier, json: false) }
                case .cacheJSON: {
                    let value = try await cache.value(for: jsonKey) { user }
                    if value.id != user.id { throw BenchmarkError(message: "wrong value") }
                }
                case .cacheBinary: {
                    let value = try await cache.value(for: binaryKey) { user }
                    if value.id != user.id { throw BenchmarkError(message: "wrong value") }
                }
                }
            }
            let total = Double(requests * rounds)
            for variant in Variant.allCases {
                rows.append(Row(
                    variant: variant.rawValue, tasks: tasks, operations: requests * rounds,
                    opsPerSecond: total / wall[variant, default: 1], cpuMicrosecondsPerOp: cpu[variant, default: 0] * 1e6 / total))
            }
            let suffix = tasks == 1 ? "_c1" : ""
            // The ratio: a Redis-tier hit through the cache's read path vs a raw GET of the
            // same bytes, in CPU per operation (lower is better).
            ratios["redis_hit_vs_get" + suffix] = cpu[.cacheJSON, default: 0] / cpu[.rawGetJSON, default: 1]
            ratios["redis_hit_vs_get_binary" + suffix] = cpu[.cacheBinary, default: 0] / cpu[.rawGetBinary, default: 1]
            ratios["tier_hit_vs_get" + suffix] = cpu[.tierJSON, default: 0] / cpu[.rawGetJSON, default: 1]
            ratios["tier_hit_vs_get_binary" + suffix] = cpu[.tierBinary, default: 0] / cpu[.rawGetBinary, default: 1]
            ratios["throughput_hit_vs_get" + suffix] = wall[.rawGetJSON, default: 0] / wall[.tierJSON, default: 1]
            ratios["throughput_hit_vs_get_binary" + suffix] = wall[.rawGetBinary, default: 0] / wall[.tierBinary, default: 1]
        }
        return Report(
            rows: rows, ratios: ratios, jsonValueBytes: fixture.jsonPayload.count,
            binaryValueBytes: fixture.binaryPayload.count, decodeNanoseconds: try fixture.stepCosts(count: requests * 5))
    }

    /// Every variant, round after round; returns summed CPU and wall seconds per variant.
    private func measureVariants(
        tasks: Int, _ operation: (Variant) -> @Sendable () async throws -> Void
    ) async throws -> (cpu: [Variant: Double], wall: [Variant: Double]) {
        var cpu: [Variant: Double] = [:]
        var wall: [Variant: Double] = [:]
        // Warm-up: connections, allocator caches, lazily initialised codec metadata.
        for variant in Variant.allCases { _ = try await measure(operation(variant), tasks: tasks, count: requests / 4) }
        for _ in 0..<rounds {
            for variant in Variant.allCases {
                let (seconds, cpuSeconds) = try await measure(operation(variant), tasks: tasks, count: requests)
                wall[variant, default: 0] += seconds
                cpu[variant, default: 0] += cpuSeconds
            }
        }
        return (cpu, wall)
    }

    /// The value, its payloads and envelopes, and the codecs.
    private struct Fixture: Sendable {
        let user = User(
            id: 1_234_567, name: "Ada Lovelace", email: "ada.lovelace@example.com", plan: "pro", active: true, score: 97.25)
        let json = JSONCacheCodec<User>()
        let binary = BinaryCacheCodec<User>()
        let jsonPayload: [UInt8]
        let binaryPayload: [UInt8]
        let jsonEnvelope: [UInt8]
        let binaryEnvelope: [UInt8]

        init() throws {
            jsonPayload = try json.encode(user)
            binaryPayload = try binary.encode(user)
            jsonEnvelope = Self.envelope(jsonPayload, codec: json.id).encoded()
            binaryEnvelope = Self.envelope(binaryPayload, codec: binary.id).encoded()
        }

        static func envelope(_ payload: [UInt8], codec: UInt8) -> CacheEnvelope {
            let now = SystemCacheClock().now
            return CacheEnvelope(
                codecID: codec, createdAt: now, freshUntil: now.advanced(by: .seconds(60)),
                staleUntil: now.advanced(by: .seconds(3600)), recomputeTime: .milliseconds(12), dataVersion: 7,
                payload: payload)
        }

        /// One cache hit: the tier read, the envelope, the codec; checks the value so that
        /// nothing is optimised away.
        func hit(_ tier: RedisCacheTier, json useJSON: Bool) async throws {
            let key = useJSON ? Variant.tierJSON.key : Variant.tierBinary.key
            guard let bytes = try await tier.get(key) else { throw BenchmarkError(message: "unexpected miss") }
            let payload = try CacheEnvelope(decoding: bytes).payload
            let value = useJSON ? try json.decode(payload) : try binary.decode(payload)
            if value.id != user.id { throw BenchmarkError(message: "wrong value") }
        }

        /// CPU nanoseconds per in-process step, each after a warm-up.
        func stepCosts(count: Int) throws -> [String: Double] {
            let steps: [String: () throws -> Void] = [
                "envelope decode": { _ = try CacheEnvelope(decoding: jsonEnvelope) },
                "envelope encode": { _ = Self.envelope(jsonPayload, codec: json.id).encoded() },
                "json value decode": { _ = try json.decode(jsonPayload) },
                "binary value decode": { _ = try binary.decode(binaryPayload) },
            ]
            var costs: [String: Double] = [:]
            for (name, step) in steps {
                for _ in 0..<(count / 10) { try step() }
                let before = CPUTime.ofThisProcess()
                for _ in 0..<count { try step() }
                costs[name] = (CPUTime.ofThisProcess() - before) * 1e9 / Double(count)
            }
            return costs
        }
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
