/// A shard's key index: an open-addressing hash table from a key's seeded 64-bit hash to the
/// slot holding the entry.
///
/// Why not `Dictionary<Key, Slot>`: the cache has already hashed the key once (to pick the shard and
/// feed the policy). A `Dictionary` would hash it again with SipHash, and on a hit that second hash
/// was a fifth of the cost. Here the stored hash is the probe sequence and a first, cheap filter;
/// the caller's `matches` closure compares real keys only for a slot whose full hash is equal.
///
/// Linear probing at a load factor of at most 1/2, with backward-shift deletion (no tombstones, so
/// lookups never slow down as entries come and go).
@usableFromInline
struct SlotIndex: Sendable {
    /// Slot numbers, -1 for an empty bucket.
    @usableFromInline var buckets: [Int32]
    /// The hash of each live slot, by slot.
    @usableFromInline var hashes: [UInt64] = []
    @usableFromInline var mask: Int
    @usableFromInline private(set) var count = 0

    /// Creates an index sized for `expectedCount` entries (it grows if more arrive).
    init(expectedCount: Int) {
        let size = FrequencySketch.powerOfTwo(atLeast: max(16, 2 * expectedCount))
        buckets = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// The slot whose hash is `hash` and for which `matches` is true.
    ///
    /// - Complexity: O(1) expected.
    @inlinable
    func find(_ hash: UInt64, matches: (Int32) -> Bool) -> Int32? {
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = buckets[bucket]
            if slot < 0 { return nil }
            if hashes[Int(slot)] == hash && matches(slot) { return slot }
            bucket = (bucket + 1) & mask
        }
    }

    /// Adds a slot that is not in the index.
    @usableFromInline
    mutating func insert(_ slot: Int32, hash: UInt64) {
        if Int(slot) >= hashes.count { hashes.append(contentsOf: repeatElement(0, count: Int(slot) + 1 - hashes.count)) }
        hashes[Int(slot)] = hash
        if 2 * (count + 1) > buckets.count { grow() }
        place(slot, hash: hash)
        count += 1
    }

    /// Removes a slot that is in the index.
    @usableFromInline
    mutating func remove(_ slot: Int32) {
        var hole = Int(truncatingIfNeeded: hashes[Int(slot)]) & mask
        while buckets[hole] != slot { hole = (hole + 1) & mask }
        // Backward shift: pull later entries of the run into the hole when the hole lies on their
        // probe path, so no lookup ever stops early at it.
        var next = (hole + 1) & mask
        while buckets[next] >= 0 {
            let home = Int(truncatingIfNeeded: hashes[Int(buckets[next])]) & mask
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = -1
        count -= 1
    }

    /// Forgets every slot.
    mutating func removeAll() {
        for index in buckets.indices { buckets[index] = -1 }
        count = 0
    }

    private mutating func place(_ slot: Int32, hash: UInt64) {
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while buckets[bucket] >= 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = slot
    }

    private mutating func grow() {
        let live = buckets.filter { $0 >= 0 }
        buckets = Array(repeating: -1, count: buckets.count * 2)
        mask = buckets.count - 1
        for slot in live { place(slot, hash: hashes[Int(slot)]) }
    }
}
