extension MemoryCache {
    /// Entries that left the cache, held until the lock is released and then given to the listener.
    struct Removals {
        let isEnabled: Bool
        private(set) var items: [(key: Key, value: Value, cause: EvictionCause)] = []

        init(isEnabled: Bool) { self.isEnabled = isEnabled }

        mutating func append(_ key: Key, _ value: Value, _ cause: EvictionCause) {
            if isEnabled { items.append((key, value, cause)) }
        }
    }

    /// One shard's storage and policy, always used under its shard's lock.
    ///
    /// The storage shell around ``AdaptiveTinyLFU``: it maps keys to the policy's slots, keeps the
    /// values, applies expiry, and turns the policy's evicted slots back into keys. Every method
    /// decides and records; listener calls happen after the lock, from the returned `Removals`.
    struct Shard {
        struct Entry {
            var value: Value
            /// Milliseconds since the epoch; `never` for no expiry.
            var expiresAt: Int64
            var slot: Int32
        }

        /// What the shard knows about a slot, for eviction and the expiry sweep.
        struct SlotRecord {
            var key: Key?
            var expiresAt: Int64
        }

        static var never: Int64 { .max }

        /// How many slots a write inspects for expired entries. With a budget of 2, every slot is
        /// looked at within (slots / 2) writes, so expired entries do not linger in a shard that is
        /// being written, while a write stays O(1).
        static var sweepBudget: Int { 2 }

        private(set) var policy: AdaptiveTinyLFU
        private(set) var entries: [Key: Entry] = [:]
        private var slots: [SlotRecord] = []
        private var expiringCount = 0
        private var sweepCursor = 0
        private var evicted: [Int32] = []
        private(set) var statistics = MemoryCacheStatistics()

        init(policy: AdaptiveTinyLFU) {
            self.policy = policy
        }

        var weightedSize: Int { policy.weight }

        /// A lookup: the value if present and not expired; an expired entry is removed.
        mutating func value(forKey key: Key, hash: UInt64, clock: any CacheClock, removals: inout Removals) -> Value? {
            guard let entry = entries[key] else {
                statistics.misses += 1
                policy.recordMiss(hash: hash)
                return nil
            }
            if entry.expiresAt != Self.never && entry.expiresAt <= clock.now.millisecondsSinceEpoch {
                remove(key, entry, cause: .expired, removals: &removals)
                statistics.misses += 1
                policy.recordMiss(hash: hash)
                return nil
            }
            statistics.hits += 1
            policy.recordHit(entry.slot)
            return entry.value
        }

        /// Stores a value, evicting what the policy chooses; `now` is needed only with expiring entries.
        mutating func setValue(
            _ value: Value, forKey key: Key, hash: UInt64, weight: Int, expiresAt: Int64, now: Int64?,
            removals: inout Removals
        ) {
            if let now, expiresAt <= now {
                // Already expired: never stored, but it does replace what was there.
                if let existing = entries[key] { remove(key, existing, cause: .replaced, removals: &removals) }
                return
            }
            if let existing = entries[key] {
                entries[key] = Entry(value: value, expiresAt: expiresAt, slot: existing.slot)
                slots[Int(existing.slot)].expiresAt = expiresAt
                expiringCount += (expiresAt != Self.never ? 1 : 0) - (existing.expiresAt != Self.never ? 1 : 0)
                policy.recordUpdate(existing.slot, weight: weight)
                statistics.record(.replaced)
                removals.append(key, existing.value, .replaced)
            } else {
                guard let slot = policy.insert(hash: hash, weight: weight) else {
                    statistics.record(.size)
                    removals.append(key, value, .size)
                    return
                }
                let record = SlotRecord(key: key, expiresAt: expiresAt)
                if Int(slot) == slots.count { slots.append(record) } else { slots[Int(slot)] = record }
                entries[key] = Entry(value: value, expiresAt: expiresAt, slot: slot)
                if expiresAt != Self.never { expiringCount += 1 }
            }
            evictOverflow(removals: &removals)
            if let now { sweep(budget: Self.sweepBudget, now: now, removals: &removals) }
        }

        /// Whether a sweep could find anything: the caller reads the clock only then.
        var hasExpiringEntries: Bool { expiringCount > 0 }

        /// Removes the key's entry; returns its value unless it had expired.
        mutating func removeValue(forKey key: Key, now: () -> Int64, removals: inout Removals) -> Value? {
            guard let entry = entries[key] else { return nil }
            if entry.expiresAt != Self.never && entry.expiresAt <= now() {
                remove(key, entry, cause: .expired, removals: &removals)
                return nil
            }
            remove(key, entry, cause: .explicit, removals: &removals)
            return entry.value
        }

        /// Removes every entry for which `shouldRemove` is true; returns how many.
        mutating func removeAll(where shouldRemove: (Key, Value) -> Bool, removals: inout Removals) -> Int {
            var doomed: [(Key, Entry)] = []
            for (key, entry) in entries where shouldRemove(key, entry.value) { doomed.append((key, entry)) }
            for (key, entry) in doomed { remove(key, entry, cause: .explicit, removals: &removals) }
            return doomed.count
        }

        /// Empties the shard. The policy keeps what it learnt (frequencies, window size).
        mutating func removeAll(removals: inout Removals) {
            for (key, entry) in entries { removals.append(key, entry.value, .explicit) }
            statistics.removals += entries.count
            entries.removeAll()
            slots.removeAll()
            policy.removeAll()
            expiringCount = 0
            sweepCursor = 0
        }

        /// Removes every expired entry; returns how many. O(slots).
        mutating func removeExpired(now: Int64, removals: inout Removals) -> Int {
            let before = statistics.expirations
            sweep(budget: slots.count, now: now, removals: &removals)
            return statistics.expirations - before
        }

        private mutating func sweep(budget: Int, now: Int64, removals: inout Removals) {
            guard expiringCount > 0, !slots.isEmpty else { return }
            for _ in 0..<min(budget, slots.count) {
                if sweepCursor >= slots.count { sweepCursor = 0 }
                let record = slots[sweepCursor]
                sweepCursor += 1
                if let key = record.key, record.expiresAt <= now, let entry = entries[key] {
                    remove(key, entry, cause: .expired, removals: &removals)
                }
            }
        }

        private mutating func evictOverflow(removals: inout Removals) {
            evicted.removeAll(keepingCapacity: true)
            policy.evict(into: &evicted)
            for slot in evicted {
                guard let key = slots[Int(slot)].key, let entry = entries.removeValue(forKey: key) else {
                    preconditionFailure("the policy evicted a slot the shard does not hold")
                }
                slots[Int(slot)] = SlotRecord(key: nil, expiresAt: Self.never)
                if entry.expiresAt != Self.never { expiringCount -= 1 }
                statistics.record(.size)
                removals.append(key, entry.value, .size)
            }
        }

        private mutating func remove(_ key: Key, _ entry: Entry, cause: EvictionCause, removals: inout Removals) {
            entries.removeValue(forKey: key)
            slots[Int(entry.slot)] = SlotRecord(key: nil, expiresAt: Self.never)
            if entry.expiresAt != Self.never { expiringCount -= 1 }
            policy.remove(entry.slot)
            statistics.record(cause)
            removals.append(key, entry.value, cause)
        }
    }
}
