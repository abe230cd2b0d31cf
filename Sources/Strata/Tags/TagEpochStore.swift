import Synchronization

/// Where tag epochs live: shared counters that every instance of an application reads and
/// advances (`RedisCacheTier` keeps them in Redis, one key per tag).
///
/// A ``StrataCache`` uses its distributed tier as the store when the tier conforms; with no
/// distributed tier, epochs are kept in process. Epochs start at 0 (never bumped) and only grow.
public protocol TagEpochStore: Sendable {
    /// The current epochs of `tags`, one per tag in order; 0 for a tag never bumped.
    ///
    /// Implementations must not send a multi-key command across Redis Cluster slots.
    func epochs(of tags: [String]) async throws -> [Int64]

    /// Atomically advances `tag`'s epoch and returns the new value, which is greater than both
    /// the stored epoch and `floor` (the epoch the caller already knows), so a counter that was
    /// lost (evicted, flushed) can never restart below what instances have recorded.
    func advanceEpoch(of tag: String, above floor: Int64) async throws -> Int64
}

/// Epochs kept in process, for a cache with no distributed tier.
final class LocalTagEpochStore: TagEpochStore {
    private let counters = Mutex<[String: Int64]>([:])

    func epochs(of tags: [String]) async throws -> [Int64] {
        counters.withLock { counters in tags.map { counters[$0] ?? 0 } }
    }

    func advanceEpoch(of tag: String, above floor: Int64) async throws -> Int64 {
        counters.withLock { counters in
            let next = max(counters[tag] ?? 0, floor) + 1
            counters[tag] = next
            return next
        }
    }
}

/// Rules for tag names.
enum CacheTagRules {
    /// Namespace epochs use tags starting with this; user tags may not.
    static let namespacePrefix = "@"
    /// The envelope's default decoding limit on one tag's length.
    static let maximumTagBytes = 256
    /// Leaves room for the namespace's own tag within the envelope's default limit of 64.
    static let maximumTagsPerEntry = 63

    static func namespaceTag(_ name: String) -> String { namespacePrefix + name }

    static func validate(_ tag: String) throws(CacheError) {
        guard !tag.isEmpty, tag.utf8.count <= maximumTagBytes else {
            throw CacheError(.invalidConfiguration, "tags are 1-\(maximumTagBytes) UTF-8 bytes")
        }
        guard !tag.hasPrefix(namespacePrefix) else {
            throw CacheError(.invalidConfiguration, "tags starting with '@' are reserved for namespaces; use clear(_:)")
        }
    }

    static func validate(_ tags: [String]) throws(CacheError) {
        guard tags.count <= maximumTagsPerEntry else {
            throw CacheError(.invalidConfiguration, "an entry carries at most \(maximumTagsPerEntry) tags")
        }
        for tag in tags { try validate(tag) }
    }
}
