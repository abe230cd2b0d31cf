/// One namespace's hottest keys: a count-min sketch ranks every key seen, a bounded table keeps
/// the `capacity` keys with the highest estimates.
///
/// Sans-I/O: a value type fed with ``record(_:hash:weight:)``, read with ``top(_:)`` and
/// ``takeUnpublished()``; the owner (``HotKeyTracker``) supplies hashes and the lock.
///
/// A key enters the table when the table has room or its estimate beats the table's smallest;
/// that smallest one leaves. Every `halvingInterval` recorded weight, the sketch and the table's
/// counts are halved, so the table follows a workload whose hot set moves: a key that stops being
/// read loses half its count per interval and is displaced by the new favourites.
///
/// Memory is fixed: the sketch's counters plus at most `capacity` keys, whatever the number of
/// distinct keys recorded.
struct HotKeyTopK: Sendable {
    struct Tracked: Sendable {
        /// The sketch's estimate when the key was last recorded (halved with the sketch).
        var count: UInt64
        /// Weight recorded since the last ``takeUnpublished()`` (never halved).
        var unpublished: UInt64
    }

    let capacity: Int
    let halvingInterval: UInt64
    private var sketch: CountMinSketch
    private(set) var tracked: [String: Tracked] = [:]
    /// The tracked key with the smallest count, found lazily: recomputing costs O(capacity) and
    /// is needed only after that key was counted again, displaced, or everything was halved.
    private var smallest: (key: String, count: UInt64)?
    private var sinceHalving: UInt64 = 0

    init(capacity: Int, sketchWidth: Int, halvingInterval: Int, seed: UInt64) {
        self.capacity = max(1, capacity)
        self.halvingInterval = UInt64(max(1, halvingInterval))
        sketch = CountMinSketch(width: sketchWidth, seed: seed)
        tracked.reserveCapacity(self.capacity)
    }

    /// Bytes of counters; the table adds at most `capacity` keys on top.
    var sketchBytes: Int { sketch.memoryFootprint }

    /// Counts `weight` reads of `key` (whose hash is `hash`).
    ///
    /// - Complexity: O(1), plus O(capacity) when the smallest tracked key must be found again, and
    ///   O(sketch) once per halving interval.
    mutating func record(_ key: String, hash: UInt64, weight: UInt32) {
        let estimate = UInt64(sketch.add(hash, weight: weight))
        if var entry = tracked[key] {
            entry.count = estimate
            entry.unpublished += UInt64(weight)
            tracked[key] = entry
            if smallest?.key == key { smallest = nil }
        } else if tracked.count < capacity {
            // Its history (what the sketch saw while it was untracked) counts as unpublished once.
            tracked[key] = Tracked(count: estimate, unpublished: estimate)
            if let current = smallest, estimate < current.count { smallest = (key, estimate) }
        } else {
            let floor = smallestTracked()
            if estimate > floor.count {
                tracked[floor.key] = nil
                tracked[key] = Tracked(count: estimate, unpublished: estimate)
                smallest = nil
            }
        }
        sinceHalving += UInt64(weight)
        if sinceHalving >= halvingInterval { halve() }
    }

    /// The `limit` hottest tracked keys, hottest first (ties by key, so the order is stable).
    ///
    /// - Complexity: O(capacity × log capacity).
    func top(_ limit: Int) -> [HotKey] {
        tracked.map { HotKey(storageKey: $0.key, count: Int(clamping: $0.value.count)) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.storageKey < $1.storageKey }
            .prefix(max(0, limit)).map { $0 }
    }

    /// The weight recorded per tracked key since the previous call, and resets it; keys with none
    /// are left out. For publishing increments (`ZINCRBY`) rather than totals.
    mutating func takeUnpublished() -> [HotKey] {
        var result: [HotKey] = []
        for (key, entry) in tracked where entry.unpublished > 0 {
            result.append(HotKey(storageKey: key, count: Int(clamping: entry.unpublished)))
            tracked[key]?.unpublished = 0
        }
        return result.sorted { $0.count != $1.count ? $0.count > $1.count : $0.storageKey < $1.storageKey }
    }

    /// Halves the sketch and every tracked count.
    mutating func halve() {
        sketch.halve()
        for key in tracked.keys { tracked[key]?.count >>= 1 }
        smallest = nil
        sinceHalving = 0
    }

    private mutating func smallestTracked() -> (key: String, count: UInt64) {
        if let smallest { return smallest }
        var found: (key: String, count: UInt64) = ("", .max)
        for (key, entry) in tracked where entry.count < found.count || (entry.count == found.count && key < found.key) {
            found = (key, entry.count)
        }
        smallest = found
        return found
    }
}

/// A key and how often it was read, as estimated by a ``HotKeyTracker`` or summed over instances
/// in a published hot list.
public struct HotKey: Sendable, Hashable {
    /// The key as every tier sees it (``CacheKey/storageKey``).
    public var storageKey: String
    /// Estimated reads (a sampled count scaled back up; at least the true sampled count until a
    /// halving, at most that plus the sketch's collision error).
    public var count: Int

    /// Creates a hot key.
    public init(storageKey: String, count: Int) {
        self.storageKey = storageKey
        self.count = count
    }
}
