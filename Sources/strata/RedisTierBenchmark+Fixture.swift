import Strata
import Synchronization

extension RedisTierBenchmark {
    /// One value cached three ways (raw bytes, binary, JSON) in one cache, and a hit on each.
    struct HitFixture: Sendable {
        static let user = User(
            id: 1_234_567, name: "Ada Lovelace", email: "ada.lovelace@example.com", plan: "pro", active: true, score: 97.25)
        /// No early refresh: a hit never draws a random number or starts a load.
        static let options = CacheEntryOptions(freshFor: .seconds(3600), refresh: .init(beta: nil))

        let cache: StrataCache
        let raw: CacheKey<[UInt8]>
        let binary: CacheKey<User>
        let json: CacheKey<User>
        /// The raw-bytes value: the user's JSON text, so the three stored envelopes are of similar size.
        let rawValue: [UInt8]

        init(cache: StrataCache) throws {
            self.cache = cache
            raw = try CacheNamespace<[UInt8]>("benchraw", codec: RawBytesCacheCodec(), defaultOptions: Self.options).key(1)
            binary = try CacheNamespace<User>("benchbinary", codec: BinaryCacheCodec(), defaultOptions: Self.options).key(1)
            json = try CacheNamespace<User>("benchjson", codec: JSONCacheCodec(), defaultOptions: Self.options).key(1)
            rawValue = try JSONCacheCodec<User>().encode(Self.user)
        }

        func storageKey(_ codec: Codec) -> String {
            switch codec {
            case .raw: raw.storageKey
            case .binary: binary.storageKey
            case .json: json.storageKey
            }
        }

        func fill() async throws {
            try await cache.set(rawValue, for: raw)
            try await cache.set(Self.user, for: binary)
            try await cache.set(Self.user, for: json)
        }

        /// One hit; checks the value so that nothing is optimised away, and fails on a load.
        func hit(_ codec: Codec) async throws {
            let matches: Bool = switch codec {
            case .raw: try await cache.value(for: raw) { throw BenchmarkError(message: "unexpected miss") }.count == rawValue.count
            case .binary: try await cache.value(for: binary) { throw BenchmarkError(message: "unexpected miss") }.id == Self.user.id
            case .json: try await cache.value(for: json) { throw BenchmarkError(message: "unexpected miss") }.id == Self.user.id
            }
            if !matches { throw BenchmarkError(message: "wrong value") }
        }

        /// CPU nanoseconds per in-process step, each after a warm-up: the envelope, the codecs, and
        /// whole cache hits through a tier that answers from memory (the cache's machinery without I/O).
        func stepCosts(count: Int) async throws -> [String: Double] {
            let envelope = CacheEnvelope(
                codecID: CacheCodecID.json, createdAt: SystemCacheClock().now, freshUntil: SystemCacheClock().now,
                staleUntil: SystemCacheClock().now, payload: rawValue
            ).encoded()
            let jsonCodec = JSONCacheCodec<User>()
            let binaryCodec = BinaryCacheCodec<User>()
            let binaryPayload = try binaryCodec.encode(Self.user)
            let steps: [String: () throws -> Void] = [
                "envelope decode": { _ = try CacheEnvelope(decoding: envelope) },
                "json value decode": { _ = try jsonCodec.decode(rawValue) },
                "binary value decode": { _ = try binaryCodec.decode(binaryPayload) },
            ]
            var costs: [String: Double] = [:]
            for (name, step) in steps {
                costs[name] = try await Self.cpuNanoseconds(count: count) { try step() }
            }
            let local = try HitFixture(cache: StrataCache(configuration: .init(memoryMaximumEntries: 0), distributedTier: InMemoryTier()))
            try await local.fill()
            for codec in Codec.allCases {
                costs["cache hit, tier in memory (\(codec.rawValue))"] = try await Self.cpuNanoseconds(count: count) {
                    try await local.hit(codec)
                }
            }
            return costs
        }

        private static func cpuNanoseconds(count: Int, _ step: () async throws -> Void) async throws -> Double {
            for _ in 0..<(count / 10) { try await step() }
            let before = CPUTime.ofThisProcess()
            for _ in 0..<count { try await step() }
            return (CPUTime.ofThisProcess() - before) * 1e9 / Double(count)
        }
    }

    /// A distributed tier answering from a dictionary: cache hits without I/O. It keeps tag
    /// epochs (all 0) like `RedisCacheTier`, so each hit also resolves its namespace's epoch.
    final class InMemoryTier: DistributedCacheTier, TagEpochStore {
        private let entries = Mutex<[String: [UInt8]]>([:])
        func epochs(of tags: [String]) async throws -> [Int64] { tags.map { _ in 0 } }
        func advanceEpoch(of tag: String, above floor: Int64) async throws -> Int64 { floor + 1 }
        func get(_ key: String) async throws -> [UInt8]? { entries.withLock { $0[key] } }
        func get(_ keys: [String]) async throws -> [[UInt8]?] { entries.withLock { stored in keys.map { stored[$0] } } }
        func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws { entries.withLock { $0[key] = value } }
        func remove(_ keys: [String]) async throws { entries.withLock { stored in for key in keys { stored[key] = nil } } }
    }
}
