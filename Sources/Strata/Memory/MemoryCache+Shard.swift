// The hot paths (lookup, write, removal) are `@inlinable` so that callers in other modules get
// them specialised for their concrete `Key` and `Value`: unspecialised, a hit went through
// generic witness tables for every lock and storage operation and cost ~8× a plain
// `Mutex<[Key: Value]>` lookup (see docs/benchmarks.md). The non-generic policy and index are
// called, not inlined.

extension MemoryCache {
    /// Entries that left the cache, held until the lock is released and then given to the listener.
    @usableFromInline
    struct Removals: Sendable {
        @usableFromInline let isEnabled: Bool
        @usableFromInline var items: [(key: Key, value: Value, cause: EvictionCause)] = []

        @inlinable
        init(isEnabled: Bool) { self.isEnabled = isEnabled }

        @inlinable
        mutating func append(_ key: Key, _ value: Value, _ cause: EvictionCause) {
            if isEnabled { items.append((key, value, cause)) }
        }
    }

    /// One shard's storage and policy, always used under its shard's lock.
    ///
    /// The storage shell around ``AdaptiveTinyLFU``: entries live in a slot-indexed array (the
    /// policy allocates the slots), ``SlotIndex`` finds a key's slot from its hash, and the policy
    /// decides what stays. Every method decides and records; listener calls happen after the
    /// lock, from the returned `Removals`.
    @usableFromInline
    struct Shard: Sendable {
        @usableFromInline
        struct Entry: Sendable {
            @usableFromInline var key: Key
            @usableFromInline var value: Value
            /// Milliseconds since the epoch; `never` for no expiry.
            @usableFromInline var expiresAt: Int64

            @inlinable
            init(key: Key, value: Value, expiresAt: Int64) {
                self.key = key
                self.value = value
                self.expiresAt = expiresAt
            }
        }

        @inlinable
        static var never: Int64 { .max }

        /// How many slots a write inspects for expired entries. With a budget of 2, every slot is
        /// looked at within (slots / 2) writes, so expired entries do not linger in a shard that is
        /// being written, while a write stays O(1).
        @inlinable
        static var sweepBudget: Int { 2 }

        @usableFromInline var policy: AdaptiveTinyLFU
        @usableFromInline var index: SlotIndex
        /// Entries by slot; `nil` for a free slot.
        @usableFromInline var entries: [Entry?] = []
        @usableFromInline var expiringCount = 0
        @usableFromInline var sweepCursor = 0
        @usableFromInline var evicted: [Int32] = []
        @usableFromInline var statistics = MemoryCacheStatistics()
        /// Explicit removals per stripe of keys (see ``MemoryCache/removalStamp(forKey:)``).
        @usableFromInline var removalStamps = [UInt32](repeating: 0, count: Shard.removalStripes)

        /// Stripes per shard: enough that a removal rarely shares a stripe with an unrelated
        /// key being read, few enough to bump them all on a clear.
        @inlinable
        static var removalStripes: Int { 64 }

        @inlinable
        static func removalStripe(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash >> 24) & UInt64(removalStripes - 1)) }

        init(policy: AdaptiveTinyLFU, expectedCount: Int) {
            self.policy = policy
            index = SlotIndex(expectedCount: expectedCount)
        }

        var count: Int { index.count }
        var weightedSize: Int { policy.weight }

        /// The slot holding `key`, if any.
        @inlinable
        func slot(of key: Key, hash: UInt64) -> Int32? {
            index.find(hash) { slot in entries[Int(slot)].unsafelyUnwrapped.key == key }
        }

        @inlinable
        func isExpired(_ slot: Int32, now: () -> Int64) -> Bool {
            let expiresAt = entries[Int(slot)].unsafelyUnwrapped.expiresAt
            return expiresAt != Self.never && expiresAt <= now()
        }

        /// A lookup: the value if present and not expired; an expired entry is removed.
        @inlinable
        mutating func value(forKey key: Key, hash: UInt64, clock: any CacheClock, removals: inout Removals) -> Value? {
            guard let slot = slot(of: key, hash: hash) else {
                statistics.misses += 1
                policy.recordMiss(hash: hash)
                return nil
            }
            if isExpired(slot, now: { clock.now.millisecondsSinceEpoch }) {
                remove(slot, cause: .expired, removals: &removals)
                statistics.misses += 1
                policy.recordMiss(hash: hash)
                return nil
            }
            statistics.hits += 1
            policy.recordHit(slot)
            return entries[Int(slot)].unsafelyUnwrapped.value
        }

        /// Stores a value, evicting what the policy chooses; `now` is needed only with expiring entries.
        @inlinable
        mutating func setValue(
            _ value: Value, forKey key: Key, hash: UInt64, weight: Int, expiresAt: Int64, now: Int64?,
            removals: inout Removals
        ) {
            let existing = slot(of: key, hash: hash)
            let expired = now.map { expiresAt <= $0 } ?? false
            if expired || weight > policy.maximumWeight {
                // Never stored: already expired, or heavier than the whole shard (evicting
                // everything else first would not make it fit). Either way it replaces the old value.
                if let existing { remove(existing, cause: .replaced, removals: &removals) }
                if !expired {
                    statistics.record(.size)
                    removals.append(key, value, .size)
                }
                return
            }
            if let existing {
                let old = entries[Int(existing)].unsafelyUnwrapped
                entries[Int(existing)] = Entry(key: key, value: value, expiresAt: expiresAt)
                expiringCount += (expiresAt != Self.never ? 1 : 0) - (old.expiresAt != Self.never ? 1 : 0)
                policy.recordUpdate(existing, weight: weight)
                statistics.record(.replaced)
                removals.append(key, old.value, .replaced)
            } else {
                guard let slot = policy.insert(hash: hash, weight: weight) else {
                    statistics.record(.size)
                    removals.append(key, value, .size)
                    return
                }
                let entry = Entry(key: key, value: value, expiresAt: expiresAt)
                if Int(slot) == entries.count { entries.append(entry) } else { entries[Int(slot)] = entry }
                index.insert(slot, hash: hash)
                if expiresAt != Self.never { expiringCount += 1 }
            }
            evictOverflow(removals: &removals)
            if let now { sweep(budget: Self.sweepBudget, now: now, removals: &removals) }
        }

        /// Whether a sweep could find anything: the caller reads the clock only then.
        @inlinable
        var hasExpiringEntries: Bool { expiringCount > 0 }

        /// Removes the key's entry; returns its value unless it had expired.
        @inlinable
        mutating func removeValue(forKey key: Key, hash: UInt64, now: () -> Int64, removals: inout Removals) -> Value? {
            removalStamps[Self.removalStripe(hash)] &+= 1
            guard let slot = slot(of: key, hash: hash) else { return nil }
            if isExpired(slot, now: now) {
                remove(slot, cause: .expired, removals: &removals)
                return nil
            }
            return remove(slot, cause: .explicit, removals: &removals).value
        }

        /// Removes every entry for which `shouldRemove` is true; returns how many.
        mutating func removeAll(where shouldRemove: (Key, Value) -> Bool, removals: inout Removals) -> Int {
            var removed = 0
            for slot in entries.indices {
                guard let entry = entries[slot], shouldRemove(entry.key, entry.value) else { continue }
                remove(Int32(slot), cause: .explicit, removals: &removals)
                removed += 1
            }
            // Entries keep no hash: a filtered removal moves every stripe of the shard.
            if removed > 0 { bumpAllRemovalStamps() }
            return removed
        }

        mutating func bumpAllRemovalStamps() {
            for stripe in removalStamps.indices { removalStamps[stripe] &+= 1 }
        }

        /// Empties the shard. The policy keeps what it learnt (frequencies, window size).
        mutating func removeAll(removals: inout Removals) {
            for case let entry? in entries { removals.append(entry.key, entry.value, .explicit) }
            bumpAllRemovalStamps()
            statistics.removals += index.count
            entries.removeAll()
            index.removeAll()
            policy.removeAll()
            expiringCount = 0
            sweepCursor = 0
        }

        /// Removes every expired entry; returns how many. O(slots).
        mutating func removeExpired(now: Int64, removals: inout Removals) -> Int {
            let before = statistics.expirations
            sweep(budget: entries.count, now: now, removals: &removals)
            return statistics.expirations - before
        }

        @inlinable
        mutating func sweep(budget: Int, now: Int64, removals: inout Removals) {
            guard expiringCount > 0, !entries.isEmpty else { return }
            for _ in 0..<min(budget, entries.count) {
                if sweepCursor >= entries.count { sweepCursor = 0 }
                let slot = sweepCursor
                sweepCursor += 1
                if let expiresAt = entries[slot]?.expiresAt, expiresAt <= now {
                    remove(Int32(slot), cause: .expired, removals: &removals)
                }
            }
        }

        @inlinable
        mutating func evictOverflow(removals: inout Removals) {
            evicted.removeAll(keepingCapacity: true)
            policy.evict(into: &evicted)
            for slot in evicted {
                // The policy already freed the slot; only the storage is left to clear.
                let entry = forget(slot)
                statistics.record(.size)
                removals.append(entry.key, entry.value, .size)
            }
        }

        @inlinable @discardableResult
        mutating func remove(_ slot: Int32, cause: EvictionCause, removals: inout Removals) -> Entry {
            let entry = forget(slot)
            policy.remove(slot)
            statistics.record(cause)
            removals.append(entry.key, entry.value, cause)
            return entry
        }

        /// Clears a slot's storage and index entry and returns what it held.
        @inlinable
        mutating func forget(_ slot: Int32) -> Entry {
            guard let entry = entries[Int(slot)] else { preconditionFailure("slot \(slot) holds no entry") }
            entries[Int(slot)] = nil
            index.remove(slot)
            if entry.expiresAt != Self.never { expiringCount -= 1 }
            return entry
        }
    }
}
