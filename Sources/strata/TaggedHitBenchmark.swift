import Strata

/// Measures what tag epochs cost an in-process hit through `StrataCache.cachedValue(for:)`:
/// entries that carry no epochs (a distributed tier that keeps none), only their namespace's
/// epoch, and the namespace's plus three tags, on the same keys in the same run.
///
/// One task looks up a pre-shuffled key sequence, all present; rounds rotate the variants so they
/// see the same machine load; cost is CPU time per hit (`getrusage`), the median over the rounds.
struct TaggedHitBenchmark {
    var keyCount = 10_000
    var hitsPerRound = 500_000
    var rounds = 7

    struct Report: Codable, Equatable {
        var untaggedNanosecondsPerHit: Double
        var namespaceTagNanosecondsPerHit: Double
        var fourTagsNanosecondsPerHit: Double

        enum CodingKeys: String, CodingKey {
            case untaggedNanosecondsPerHit = "untagged_ns_per_hit"
            case namespaceTagNanosecondsPerHit = "namespace_tag_ns_per_hit"
            case fourTagsNanosecondsPerHit = "four_tags_ns_per_hit"
        }
    }

    /// A distributed tier that stores nothing and keeps no tag epochs, so entries carry none.
    struct EmptyTier: DistributedCacheTier {
        func get(_ key: String) async throws -> [UInt8]? { nil }
        func get(_ keys: [String]) async throws -> [[UInt8]?] { keys.map { _ in nil } }
        func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws {}
        func remove(_ keys: [String]) async throws {}
    }

    func run() async throws -> Report {
        var options = CacheEntryOptions(freshFor: .seconds(3600), refresh: .init(beta: nil))
        let configuration = StrataCache.Configuration(memoryMaximumEntries: keyCount * 2)
        // One cache per variant, each holding the same number of entries, so only the tags differ.
        let untagged = try StrataCache(configuration: configuration, distributedTier: EmptyTier())
        let namespaceTagged = try StrataCache(configuration: configuration)
        let fourTagged = try StrataCache(configuration: configuration)
        let plain = try CacheNamespace<String>("bench", codec: StringCacheCodec(), defaultOptions: options)
        options.tags = ["tenant:1", "category:7", "brand:3"]
        let fourTags = try CacheNamespace<String>("bench", codec: StringCacheCodec(), defaultOptions: options)
        let variants: [(StrataCache, CacheNamespace<String>)] = [(untagged, plain), (namespaceTagged, plain), (fourTagged, fourTags)]
        for (cache, namespace) in variants {
            for id in 0..<keyCount { try await cache.set("value", for: namespace.key(id)) }
        }
        var generator = SystemRandomNumberGenerator()
        let order = (0..<hitsPerRound).map { _ in Int.random(in: 0..<keyCount, using: &generator) }
        var samples: [[Double]] = Array(repeating: [], count: variants.count)
        for round in 0..<rounds {
            for offset in 0..<variants.count {
                let index = (round + offset) % variants.count
                samples[index].append(try await measure(order, cache: variants[index].0, namespace: variants[index].1))
            }
        }
        let medians = samples.map { $0.sorted()[$0.count / 2] }
        return Report(untaggedNanosecondsPerHit: medians[0], namespaceTagNanosecondsPerHit: medians[1], fourTagsNanosecondsPerHit: medians[2])
    }

    /// CPU nanoseconds per hit over the whole sequence.
    private func measure(_ order: [Int], cache: StrataCache, namespace: CacheNamespace<String>) async throws -> Double {
        let keys = order.map { namespace.key($0) }
        var found = 0
        let start = CPUTime.ofThisProcess()
        for key in keys where try await cache.cachedValue(for: key) != nil { found += 1 }
        let elapsed = CPUTime.ofThisProcess() - start
        precondition(found == keys.count, "every key must be present")
        return elapsed * 1e9 / Double(keys.count)
    }
}
