/// Replays a key-access trace through ``MemoryCache``, plain LRU and Belady's optimal policy, so
/// that the in-process tier can be judged on real traffic (`strata bench hit-ratio` prints these).
///
/// The replay rule is the usual one for policy studies: every access is a lookup and every miss
/// inserts the key; maintenance runs synchronously. Keys are `Int32` (the cache2k trace format).
public enum HitRatioReplay {
    /// Decodes a trace of big-endian signed 32-bit keys (trailing bytes that do not make a whole
    /// key are ignored).
    public static func decodeTrace(_ bytes: [UInt8]) -> [Int32] {
        var keys: [Int32] = []
        keys.reserveCapacity(bytes.count / 4)
        var offset = 0
        while offset + 4 <= bytes.count {
            let word = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
                | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
            keys.append(Int32(bitPattern: word))
            offset += 4
        }
        return keys
    }

    /// The hit ratio of a ``MemoryCache`` bounded to `size` entries, with its default (automatic)
    /// shard count, on `trace`.
    ///
    /// - Complexity: O(n).
    public static func memoryCache(_ trace: [Int32], size: Int) throws(CacheConfigurationError) -> Double {
        let cache = try MemoryCache<Int32, Bool>(.init(maximumCount: size))
        for key in trace where cache.value(forKey: key) == nil {
            cache.setValue(true, forKey: key)
        }
        return cache.stats().hitRatio
    }

    /// The hit ratio of a least-recently-used cache of `size` entries on `trace`.
    ///
    /// - Complexity: O(n).
    public static func lru(_ trace: [Int32], size: Int) -> Double {
        precondition(size > 0, "size must be positive")
        guard !trace.isEmpty else { return 0 }
        var lists = AccessOrderLists()
        var slots: [Int32: Int32] = [:]
        var keys: [Int32] = []
        var hits = 0
        for key in trace {
            if let slot = slots[key] {
                hits += 1
                lists.move(slot, to: .window)
                continue
            }
            if lists.count == size {
                let victim = lists.window.head
                slots[keys[Int(victim)]] = nil
                lists.free(victim)
            }
            let slot = lists.allocate(hash: 0, weight: 1, in: .window)
            if Int(slot) == keys.count { keys.append(key) } else { keys[Int(slot)] = key }
            slots[key] = slot
        }
        return Double(hits) / Double(trace.count)
    }

    /// The hit ratio of Belady's optimal policy (evict the key whose next use is furthest away) for
    /// a cache of `size` entries on `trace`: the upper bound for any policy that must insert every
    /// missed key.
    ///
    /// - Complexity: O(n log size).
    public static func optimal(_ trace: [Int32], size: Int) -> Double {
        precondition(size > 0, "size must be positive")
        guard !trace.isEmpty else { return 0 }
        // nextUse[i]: the position of the next access to trace[i], or Int.max.
        var nextUse = [Int](repeating: .max, count: trace.count)
        var upcoming: [Int32: Int] = [:]
        for position in trace.indices.reversed() {
            nextUse[position] = upcoming[trace[position]] ?? .max
            upcoming[trace[position]] = position
        }
        // Cached keys → their next use. The heap holds (next use, key) for every cached key plus
        // stale pairs left by hits; a pair is live when `cached` still maps its key to it. Stale
        // pairs hold past positions, below every live one, so they never reach the top; the heap
        // is rebuilt without them when they outnumber the live ones.
        var cached: [Int32: Int] = [:]
        var heap = MaxHeap()
        var hits = 0
        for (position, key) in trace.enumerated() {
            if cached[key] != nil {
                hits += 1
            } else if cached.count == size {
                while let top = heap.popMax() {
                    if cached[top.key] == top.priority {
                        cached[top.key] = nil
                        break
                    }
                }
            }
            cached[key] = nextUse[position]
            heap.insert(nextUse[position], key: key)
            if heap.count > 2 * size + 64 { heap.keep(where: { cached[$0.key] == $0.priority }) }
        }
        return Double(hits) / Double(trace.count)
    }

    /// A binary max-heap of (next use, key); ties (keys never used again) break by key.
    private struct MaxHeap {
        private var items: [(priority: Int, key: Int32)] = []

        var count: Int { items.count }

        mutating func insert(_ priority: Int, key: Int32) {
            items.append((priority, key))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.below(items[parent], items[child]) else { break }
                items.swapAt(parent, child)
                child = parent
            }
        }

        mutating func popMax() -> (priority: Int, key: Int32)? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                siftDown(from: 0)
            }
            return top
        }

        /// Drops the items `isLive` rejects and restores the heap order. O(n).
        mutating func keep(where isLive: ((priority: Int, key: Int32)) -> Bool) {
            items.removeAll { !isLive($0) }
            for index in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(from: index) }
        }

        private mutating func siftDown(from start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var largest = parent
                if left < items.count && Self.below(items[largest], items[left]) { largest = left }
                if right < items.count && Self.below(items[largest], items[right]) { largest = right }
                guard largest != parent else { return }
                items.swapAt(parent, largest)
                parent = largest
            }
        }

        private static func below(_ lhs: (priority: Int, key: Int32), _ rhs: (priority: Int, key: Int32)) -> Bool {
            lhs.priority != rhs.priority ? lhs.priority < rhs.priority : lhs.key < rhs.key
        }
    }
}
