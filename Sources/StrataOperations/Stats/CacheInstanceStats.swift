import Foundation
public import Redis
public import Strata
import NIOCore

/// One cache instance's published ``CacheStatistics``, as read from its `strata:stats:<instance>`
/// hash (written by `CacheStatisticsPublisher` in StrataRedis).
public struct CacheInstanceStatistics: Sendable, Hashable {
    /// The instance name (the rest of the hash's key).
    public var instance: String
    /// When the instance published, milliseconds since 1970; nil if it did not say.
    public var publishedAtMilliseconds: Int?
    /// The counters.
    public var statistics: CacheStatistics

    /// Creates a reading from a hash's fields.
    public init(instance: String, fields: [String: String]) {
        self.instance = instance
        self.publishedAtMilliseconds = fields["published_at"].flatMap { Int($0) }
        self.statistics = CacheStatistics(fields: fields)
    }
}

/// Reads every published cache instance's statistics from one Redis.
public enum CacheInstanceStatsReader {
    /// The prefix of the hashes instances publish to.
    public static let keyPrefix = "strata:stats:"

    /// Finds every `strata:stats:*` hash with `SCAN` and reads them in one pipeline of `HGETALL`s.
    ///
    /// An instance whose hash expired between the two steps is left out.
    ///
    /// - Returns: the instances sorted by name.
    /// - Throws: ``RedisError`` when `SCAN` or the pipeline fails.
    public static func read(from executor: some RedisCommandExecutor) async throws(RedisError) -> [CacheInstanceStatistics] {
        var keys: Set<String> = []
        var cursor: UInt64 = 0
        repeat {
            let page = try await executor.send(SCAN(cursor: cursor, match: keyPrefix + "*", count: 500, type: "hash"))
            keys.formUnion(page.keys)
            cursor = page.cursor
        } while cursor != 0
        let sorted = keys.sorted()
        guard !sorted.isEmpty else { return [] }
        let replies = try await executor.pipeline(sorted.map { HGETALL($0) })
        return zip(sorted, replies).compactMap { key, reply in
            guard let token = try? reply.get(), let hash = try? HGETALL(key).decode(token), !hash.isEmpty else { return nil }
            let fields = hash.mapValues { String(buffer: $0) }
            return CacheInstanceStatistics(instance: String(key.dropFirst(keyPrefix.count)), fields: fields)
        }
    }
}
