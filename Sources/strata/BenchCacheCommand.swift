import ArgumentParser
import Foundation

/// `strata bench cache`: the in-process tier against a plain locked dictionary, and a Redis-tier
/// hit through the cache against a raw GET of the same bytes, each in the same run.
struct BenchCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Memory-tier hit vs Mutex<[Key: Value]>, and Redis-tier hit vs raw GET, measured side by side.",
        discussion: """
            Starts a private redis-server. Alternates the variants round after round and reports CPU per \
            operation (getrusage), so neighbours' load affects both sides alike. `--json` prints a `ratios` \
            object: memory_hit_vs_dictionary (throughput ratio, higher is better), and for each codec \
            (raw, binary, json) redis_hit_vs_get_<codec>: CPU per Redis-tier hit through the cache over CPU \
            per raw GET of the same stored bytes, 16 concurrent tasks (lower is better; _c1: one task at a \
            time). redis_hit_vs_get is the raw-bytes codec, the cache's own machinery; json_decode_vs_get is \
            JSON decoding alone over a whole GET. Also memory_hit_namespace_tag_vs_untagged and \
            memory_hit_four_tags_vs_untagged (CPU cost of an in-process hit through the cache whose entries \
            carry tag epochs, over one whose entries carry none) and hot_key_tracking_cost (an in-process hit \
            with hot-key tracking over one without); lower is better for both.
            """
    )

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    struct Report: Codable {
        var ratios: [String: Double]
        var memory: MemoryTierBenchmark.Report
        var tags: TaggedHitBenchmark.Report
        var redis: RedisTierBenchmark.Report
    }

    func run() async throws {
        if !json { print("measuring the memory tier against a locked dictionary…") }
        let benchmark = MemoryTierBenchmark()
        var memory = try benchmark.run()
        try await benchmark.measureTracking(into: &memory)
        if !json { print("measuring in-process hits through the cache with and without tag epochs…") }
        let tags = try await TaggedHitBenchmark().run()
        if !json { print("measuring Redis-tier hits against raw GETs on a private redis-server…") }
        let redis = try await RedisTierBenchmark().run()
        var ratios = redis.ratios
        ratios["memory_hit_vs_dictionary"] = memory.memoryHitVsDictionary
        ratios["memory_hit_namespace_tag_vs_untagged"] = tags.namespaceTagNanosecondsPerHit / tags.untaggedNanosecondsPerHit
        ratios["memory_hit_four_tags_vs_untagged"] = tags.fourTagsNanosecondsPerHit / tags.untaggedNanosecondsPerHit
        ratios["hot_key_tracking_cost"] = memory.hotKeyTrackingCost
        let report = Report(ratios: ratios, memory: memory, tags: tags, redis: redis)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(
            format: "memory tier: %.0f ns per hit, dictionary %.0f ns per lookup -> memory_hit_vs_dictionary %.2f",
            memory.memoryNanosecondsPerHit, memory.dictionaryNanosecondsPerLookup, memory.memoryHitVsDictionary))
        print(String(
            format: "cache in-process hit: %.0f ns untagged, %.0f ns with the namespace epoch, %.0f ns with four tags",
            tags.untaggedNanosecondsPerHit, tags.namespaceTagNanosecondsPerHit, tags.fourTagsNanosecondsPerHit))
        print(String(
            format: "cache hit (get-or-load): %.0f ns with hot-key tracking, %.0f ns without -> hot_key_tracking_cost %.2f",
            memory.cacheNanosecondsPerHit, memory.cacheNanosecondsPerHitUntracked, memory.hotKeyTrackingCost))
        print(redis.table())
        for (name, value) in ratios.sorted(by: { $0.key < $1.key }) { print(String(format: "%-32@ %.2f", name as NSString, value)) }
    }
}
