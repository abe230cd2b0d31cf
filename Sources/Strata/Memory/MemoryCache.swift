public import Synchronization

/// A bounded in-process cache with an adaptive W-TinyLFU policy and per-entry expiry.
///
/// The in-process tier of Strata, usable on its own. Keys are spread over independently locked
/// shards (each a `Mutex`), so a lookup is a hash, one uncontended lock and a dictionary probe:
/// no actor hop, no allocation. Each shard runs its own ``AdaptiveTinyLFU`` policy: recent keys
/// enter a small LRU window, a frequency sketch decides which of them displace older entries, and
/// the window grows or shrinks with the workload (recency-biased traffic gets a large window,
/// frequency-biased traffic a small one).
///
/// Bounds: by entry count, by total weight (a weigher), or both; never exceeded after a write
/// returns. Expired entries are never returned. They are removed when a lookup finds them, by a
/// small sweep on every write, and by ``removeExpired()``; until then they count toward the bounds.
///
/// Concurrency: every method may be called from any thread or task at the same time. The weigher
/// runs on the caller before any lock; the eviction listener runs on the caller after the locks
/// are released, so it may use the cache.
///
/// ```swift
/// let cache = try MemoryCache<String, Data>(.init(maximumCount: 10_000))
/// cache.setValue(data, forKey: "user:42", expiresAt: clock.now.advanced(by: .seconds(30)))
/// let hit = cache.value(forKey: "user:42")
/// ```
public final class MemoryCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// A shard's lock. A class because `Mutex` cannot be stored in an array.
    @usableFromInline
    final class ShardLock: Sendable {
        @usableFromInline let state: Mutex<Shard>
        init(_ shard: consuming sending Shard) { state = Mutex(shard) }
    }

    @usableFromInline let shards: [ShardLock]
    @usableFromInline let shardShift: UInt64
    @usableFromInline let seed: UInt64
    @usableFromInline let clock: any CacheClock
    @usableFromInline let weigher: (@Sendable (Key, Value) -> Int)?
    @usableFromInline let listener: (@Sendable (Key, Value, EvictionCause) -> Void)?

    /// The entry-count bound, if any.
    public let maximumCount: Int?
    /// The total-weight bound, if any.
    public let maximumWeight: Int?

    /// Creates an empty cache.
    ///
    /// - Throws: ``CacheConfigurationError`` when the configuration is incoherent: no bound, a
    ///   non-positive bound, a weigher without `maximumWeight` or the reverse, or a shard count
    ///   that is not a power of two or would leave a shard empty.
    public init(_ configuration: Configuration) throws(CacheConfigurationError) {
        let bounds = try configuration.shardBounds()
        var generator = SystemRandomNumberGenerator()
        seed = generator.next()
        shardShift = UInt64(64 - bounds.count.trailingZeroBitCount)
        shards = bounds.map { bound in
            ShardLock(Shard(
                policy: AdaptiveTinyLFU(maximumWeight: bound.weight, maximumCount: bound.count, seed: generator.next()),
                expectedCount: bound.count == .max ? 1_024 : bound.count))
        }
        clock = configuration.clock
        weigher = configuration.weigher
        listener = configuration.evictionListener
        maximumCount = configuration.maximumCount
        maximumWeight = configuration.maximumWeight
    }

    /// How many independently locked shards the cache uses.
    public var shardCount: Int { shards.count }

    /// The value for `key`, or `nil` if absent or expired (an expired entry is removed).
    ///
    /// Counts a hit or a miss and refreshes the entry's recency and frequency.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func value(forKey key: Key) -> Value? {
        let hash = hash(key)
        var removals = Removals(isEnabled: listener != nil)
        let value = shard(for: hash).state.withLock { shard in
            shard.value(forKey: key, hash: hash, clock: clock, removals: &removals)
        }
        notify(removals)
        return value
    }

    /// A lookup that also says whether it is one of every `sampleMask + 1` lookups of its shard:
    /// the shard already counts lookups under its lock, so sampling costs the read path nothing
    /// but this test (hot-key tracking uses it).
    @inlinable
    func value(forKey key: Key, sampleMask: Int) -> (value: Value?, sampled: Bool) {
        let hash = hash(key)
        var removals = Removals(isEnabled: listener != nil)
        let result = shard(for: hash).state.withLock { shard in
            let value = shard.value(forKey: key, hash: hash, clock: clock, removals: &removals)
            return (value, (shard.statistics.hits &+ shard.statistics.misses) & sampleMask == 0)
        }
        notify(removals)
        return result
    }

    /// Stores `value` for `key`, replacing any current value, and evicts what the policy chooses.
    ///
    /// A new key may be evicted at once if the policy judges it less useful than what the cache
    /// holds (that is admission, not a failure); an entry heavier than a shard's share of
    /// `maximumWeight` is never kept. A value whose `expiresAt` has already passed is not stored
    /// and removes the current one.
    ///
    /// - Parameter expiresAt: when the entry stops being returned; `nil` for never.
    /// - Complexity: O(1) amortised.
    @inlinable
    public func setValue(_ value: Value, forKey key: Key, expiresAt: CacheInstant? = nil) {
        _ = store(value, forKey: key, expiresAt: expiresAt, unlessRemovedSince: nil)
    }

    /// Marks the current point in the history of explicit removals that could concern `key`.
    ///
    /// Take a stamp before fetching a value from elsewhere (a shared tier, a database), then store
    /// it with ``setValue(_:forKey:expiresAt:unlessRemovedSince:)``: if `key` was removed in
    /// between (an invalidation raced the fetch), the possibly outdated value is not stored.
    /// Removals of other keys that share the key's stripe, and ``removeAll()``, also void the
    /// stamp; that only costs a skipped store.
    ///
    /// - Complexity: O(1).
    @inlinable
    public func removalStamp(forKey key: Key) -> RemovalStamp {
        let hash = hash(key)
        let value = shard(for: hash).state.withLock { $0.removalStamps[Shard.removalStripe(hash)] }
        return RemovalStamp(hash: hash, value: value)
    }

    /// Stores `value` for `key` like ``setValue(_:forKey:expiresAt:)``, unless `key` may have been
    /// removed since `stamp` was taken; returns whether it was stored.
    ///
    /// The check and the store happen under the shard's lock, so a removal either comes before
    /// (and the store is refused) or after (and removes what was stored).
    ///
    /// - Complexity: O(1) amortised.
    @inlinable @discardableResult
    public func setValue(_ value: Value, forKey key: Key, expiresAt: CacheInstant? = nil, unlessRemovedSince stamp: RemovalStamp) -> Bool {
        store(value, forKey: key, expiresAt: expiresAt, unlessRemovedSince: stamp)
    }

    @inlinable
    func store(_ value: Value, forKey key: Key, expiresAt: CacheInstant?, unlessRemovedSince stamp: RemovalStamp?) -> Bool {
        let weight = weigher.map { $0(key, value) } ?? 1
        precondition(weight >= 0, "MemoryCache weigher returned a negative weight")
        let expiry = expiresAt?.millisecondsSinceEpoch ?? Shard.never
        var removals = Removals(isEnabled: listener != nil)
        let hash = hash(key)
        precondition(stamp == nil || stamp?.hash == hash, "a removal stamp was used for another key or cache")
        let stored = shard(for: hash).state.withLock { shard in
            if let stamp, shard.removalStamps[Shard.removalStripe(hash)] != stamp.value { return false }
            let now = expiresAt != nil || shard.hasExpiringEntries ? clock.now.millisecondsSinceEpoch : nil
            shard.setValue(
                value, forKey: key, hash: hash, weight: weight, expiresAt: expiry, now: now, removals: &removals)
            return true
        }
        notify(removals)
        return stored
    }

    /// Removes the entry for `key` and returns its value (`nil` if absent or already expired).
    ///
    /// - Complexity: O(1).
    @inlinable @discardableResult
    public func removeValue(forKey key: Key) -> Value? {
        let hash = hash(key)
        var removals = Removals(isEnabled: listener != nil)
        let value = shard(for: hash).state.withLock { shard in
            shard.removeValue(forKey: key, hash: hash, now: { clock.now.millisecondsSinceEpoch }, removals: &removals)
        }
        notify(removals)
        return value
    }

    /// Removes every entry. What the policy learnt about the workload is kept.
    ///
    /// Shards are emptied one after the other; an entry written concurrently into an already
    /// emptied shard survives.
    ///
    /// - Complexity: O(n).
    public func removeAll() {
        for lock in shards {
            var removals = Removals(isEnabled: listener != nil)
            lock.state.withLock { $0.removeAll(removals: &removals) }
            notify(removals)
        }
    }

    /// Removes every entry for which `shouldRemove` returns true; returns how many were removed.
    ///
    /// `shouldRemove` runs while a shard is locked: it must be quick and must not use this cache.
    ///
    /// - Complexity: O(n).
    @discardableResult
    public func removeAll(where shouldRemove: (Key, Value) -> Bool) -> Int {
        var removed = 0
        for lock in shards {
            var removals = Removals(isEnabled: listener != nil)
            removed += lock.state.withLock { $0.removeAll(where: shouldRemove, removals: &removals) }
            notify(removals)
        }
        return removed
    }

    /// Removes every expired entry now; returns how many. For callers that want expired entries
    /// gone from memory without waiting for lookups and writes to find them (a periodic task).
    ///
    /// - Complexity: O(n).
    @discardableResult
    public func removeExpired() -> Int {
        var removed = 0
        for lock in shards {
            var removals = Removals(isEnabled: listener != nil)
            removed += lock.state.withLock { shard in
                guard shard.hasExpiringEntries else { return 0 }
                return shard.removeExpired(now: clock.now.millisecondsSinceEpoch, removals: &removals)
            }
            notify(removals)
        }
        return removed
    }

    /// The number of entries, including expired ones not yet removed.
    ///
    /// - Complexity: O(shards).
    public var count: Int {
        shards.reduce(0) { sum, lock in sum + lock.state.withLock { $0.count } }
    }

    /// The summed weight of the entries (their count when there is no weigher).
    ///
    /// - Complexity: O(shards).
    public var weightedSize: Int {
        shards.reduce(0) { sum, lock in sum + lock.state.withLock { $0.weightedSize } }
    }

    /// Hits, misses and removals by cause since the cache was created.
    ///
    /// - Complexity: O(shards).
    public func stats() -> MemoryCacheStatistics {
        shards.reduce(MemoryCacheStatistics()) { sum, lock in sum + lock.state.withLock { $0.statistics } }
    }

    /// The policy's current window share per shard, for diagnostics and tests.
    var windowFractions: [Double] {
        shards.map { lock in lock.state.withLock { $0.policy.windowFraction } }
    }

    /// The key's hash mixed with this instance's seed: shard choice (top bits), index probe
    /// (low bits) and the policy's sketch (mixed again) all use it.
    @inlinable
    func hash(_ key: Key) -> UInt64 {
        FrequencySketch.mix(UInt64(bitPattern: Int64(key.hashValue)) ^ seed)
    }

    @inlinable
    func shard(for hash: UInt64) -> ShardLock {
        shards[Int(truncatingIfNeeded: hash >> shardShift)]
    }

    @inlinable
    func notify(_ removals: Removals) {
        guard let listener, !removals.items.isEmpty else { return }
        for item in removals.items { listener(item.key, item.value, item.cause) }
    }
}

/// A point in the history of removals that may concern one key of a ``MemoryCache``; see
/// ``MemoryCache/removalStamp(forKey:)``.
public struct RemovalStamp: Sendable, Hashable {
    @usableFromInline let hash: UInt64
    @usableFromInline let value: UInt32

    @inlinable
    init(hash: UInt64, value: UInt32) {
        self.hash = hash
        self.value = value
    }
}
