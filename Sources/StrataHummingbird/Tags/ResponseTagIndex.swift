public import Strata
import Synchronization

/// Remembers which cached responses carry which tag, so that invalidating a tag can remove
/// exactly those entries from Strata's tiers.
///
/// Strata's core has no tags yet (tag epochs in Redis come later); until then this index is
/// how tag invalidation reaches stored responses. Members are the canonical key texts of the
/// response entries.
///
/// Implementations must be safe to call from any number of tasks at once.
public protocol ResponseTagIndex: Sendable {
    /// Records that the entry `member` carries every tag in `tags`, for at least `lifetime`.
    ///
    /// - Returns: `false` when a tag already has the maximum number of members; the caller must
    ///   then not store the response, because a later invalidation could not find it.
    /// - Throws: when the index cannot be reached (the caller then does not store either).
    func record(member: String, tags: [String], lifetime: Duration) async throws -> Bool

    /// Removes the set of `tag` and returns its members, atomically: a member recorded at the
    /// same time is either returned now or left for the next drain, never lost.
    func drain(tag: String) async throws -> [String]
}

/// A tag index in this process's memory: for a single instance and for tests.
///
/// Each tag holds at most ``maximumMembersPerTag`` members; members past their lifetime are
/// pruned when the tag is written, so the index stays bounded by live entries.
public final class MemoryResponseTagIndex: ResponseTagIndex {
    /// The most members one tag holds.
    public let maximumMembersPerTag: Int
    private let clock: any CacheClock
    private let tags = Mutex<[String: [String: CacheInstant]]>([:])

    /// Creates an index.
    ///
    /// - Parameters:
    ///   - maximumMembersPerTag: the bound per tag (default 10,000).
    ///   - clock: the clock that expires members (the cache's, so tests can use a manual one).
    public init(maximumMembersPerTag: Int = 10_000, clock: any CacheClock = SystemCacheClock()) {
        self.maximumMembersPerTag = max(1, maximumMembersPerTag)
        self.clock = clock
    }

    /// Records `member` under `tags`; prunes expired members of those tags first.
    ///
    /// - Complexity: O(members of the touched tags) when pruning, O(tags) otherwise.
    public func record(member: String, tags: [String], lifetime: Duration) -> Bool {
        let now = clock.now
        let until = now.advanced(by: lifetime)
        let limit = maximumMembersPerTag
        return self.tags.withLock { index in
            for tag in tags {
                var members = index[tag, default: [:]]
                if members[member] == nil, members.count >= limit {
                    members = members.filter { $0.value > now }
                    if members.count >= limit {
                        index[tag] = members
                        return false
                    }
                }
                members[member] = max(members[member] ?? until, until)
                index[tag] = members
            }
            return true
        }
    }

    /// Removes `tag` and returns its live members.
    public func drain(tag: String) -> [String] {
        let now = clock.now
        let members = tags.withLock { $0.removeValue(forKey: tag) } ?? [:]
        return members.filter { $0.value > now }.map(\.key).sorted()
    }

    /// The number of live members of `tag` (for tests and diagnostics).
    public func memberCount(of tag: String) -> Int {
        let now = clock.now
        return tags.withLock { $0[tag]?.values.filter { $0 > now }.count ?? 0 }
    }
}
