/// A count-min sketch with conservative update and halving: how often each key was seen, in fixed
/// memory, never underestimated (until a halving), overestimated only by collisions.
///
/// `depth` rows of `width` 32-bit counters. A key maps to one counter per row; its estimate is the
/// smallest of them. Conservative update raises only the counters below the new estimate, which
/// keeps the collision overestimate far below plain count-min's on skewed streams. ``halve()``
/// divides every counter by two, so popularity that is no longer earned fades.
///
/// Unlike ``FrequencySketch`` (4-bit counters saturating at 15, enough to compare two keys for
/// admission), counts here must rank thousands of keys and be published as numbers, so counters
/// are 32 bits wide.
struct CountMinSketch: Sendable {
    static let depth = 4

    private var counters: [UInt32]
    private let mask: Int
    private let seed: UInt64

    /// Counters per row.
    var width: Int { mask + 1 }

    /// The bytes of counters, independent of how many keys were counted.
    var memoryFootprint: Int { counters.count * MemoryLayout<UInt32>.stride }

    /// Creates an empty sketch with `width` (rounded up to a power of two) counters per row.
    init(width: Int, seed: UInt64) {
        let width = FrequencySketch.powerOfTwo(atLeast: max(16, width))
        counters = Array(repeating: 0, count: width * Self.depth)
        mask = width - 1
        self.seed = seed
    }

    /// The estimated count of the key with this hash.
    ///
    /// - Complexity: O(depth).
    func estimate(_ hash: UInt64) -> UInt32 {
        var minimum = UInt32.max
        for row in 0..<Self.depth { minimum = min(minimum, counters[index(hash, row: row)]) }
        return minimum
    }

    /// Adds `weight` occurrences of the key with this hash and returns its new estimate.
    ///
    /// - Complexity: O(depth).
    @discardableResult
    mutating func add(_ hash: UInt64, weight: UInt32 = 1) -> UInt32 {
        let i0 = index(hash, row: 0), i1 = index(hash, row: 1), i2 = index(hash, row: 2), i3 = index(hash, row: 3)
        let current = min(min(counters[i0], counters[i1]), min(counters[i2], counters[i3]))
        let (sum, overflow) = current.addingReportingOverflow(weight)
        let target = overflow ? UInt32.max : sum
        // Conservative update: a counter already above the target holds other keys' counts too.
        if counters[i0] < target { counters[i0] = target }
        if counters[i1] < target { counters[i1] = target }
        if counters[i2] < target { counters[i2] = target }
        if counters[i3] < target { counters[i3] = target }
        return target
    }

    /// Halves every counter.
    ///
    /// - Complexity: O(width × depth).
    mutating func halve() {
        for position in counters.indices { counters[position] >>= 1 }
    }

    @inline(__always)
    private func index(_ hash: UInt64, row: Int) -> Int {
        let mixed = FrequencySketch.mix(hash ^ seed &+ UInt64(row) &* 0x9E37_79B9_7F4A_7C15)
        return row &* width &+ Int(truncatingIfNeeded: mixed) & mask
    }
}
