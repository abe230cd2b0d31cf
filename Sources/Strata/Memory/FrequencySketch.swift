/// A 4-bit count-min sketch with a doorkeeper and periodic halving: the popularity estimate that
/// decides admission in ``AdaptiveTinyLFU``.
///
/// Layout: counters live in 64-byte blocks of eight words, sixteen 4-bit counters per word. A key
/// maps to one block and uses one counter in each of four word pairs of it, so an increment or an
/// estimate touches one cache line. Increments are conservative (only the counters at the minimum
/// grow), which keeps the overestimate from collisions small.
///
/// The doorkeeper is a small Bloom filter in front of the counters: a key's first access in a
/// sample period only sets its doorkeeper bits, so the one-hit wonders that dominate real traffic
/// never reach the counters. The estimate adds one when the doorkeeper holds the key.
///
/// Aging: after `sampleSize` recorded accesses (a multiple of the capacity) every counter is halved and the doorkeeper cleared,
/// so popularity that is no longer earned fades and a once-hot key cannot squat forever.
///
/// Hash flooding: callers pass a hash that is already mixed with a per-instance random seed, and
/// the sketch mixes it again with its own seed, so an attacker cannot pick keys that collide.
@usableFromInline
struct FrequencySketch: Sendable {
    /// Counters, sixteen per word, eight words per block.
    private var table: [UInt64]
    private var blockMask: Int
    /// Doorkeeper bits.
    private var doorkeeper: [UInt64]
    private var doorkeeperMask: Int
    private let seed: UInt64
    /// Accesses recorded since the last halving.
    private(set) var additions = 0
    /// Accesses between two halvings.
    private(set) var sampleSize: Int
    /// The entry count the table is sized for.
    private(set) var capacity: Int

    /// The largest entry count the table grows to (2^24 entries: 16 MiB of counters).
    static let maximumCapacity = 1 << 24

    /// Accesses between two halvings, as a multiple of the sized capacity.
    private let sampleFactor: Int

    /// Creates a sketch for about `expectedEntries` entries, halved every
    /// `sampleFactor × expectedEntries` accesses.
    init(expectedEntries: Int, sampleFactor: Int, seed: UInt64) {
        self.seed = seed
        self.sampleFactor = max(1, sampleFactor)
        table = []
        doorkeeper = []
        blockMask = 0
        doorkeeperMask = 0
        sampleSize = 0
        capacity = 0
        resize(for: expectedEntries)
    }

    /// Grows the table when the cache holds more entries than it was sized for.
    ///
    /// Growing forgets every count: it happens a handful of times (the table doubles) while a
    /// weight-bounded cache discovers how many entries fit.
    mutating func ensureCapacity(_ entries: Int) {
        if entries > capacity && capacity < Self.maximumCapacity { resize(for: entries) }
    }

    private mutating func resize(for entries: Int) {
        capacity = min(Self.maximumCapacity, Self.powerOfTwo(atLeast: max(entries, 16)))
        // One word (sixteen counters) per expected entry, at least one block.
        table = Array(repeating: 0, count: max(8, capacity))
        blockMask = table.count / 8 - 1
        // Sixteen doorkeeper bits per expected entry.
        doorkeeper = Array(repeating: 0, count: max(1, capacity / 4))
        doorkeeperMask = doorkeeper.count * 64 - 1
        sampleSize = sampleFactor * capacity
        additions = 0
    }

    /// The estimated number of recent accesses to the key with this hash, 0...16.
    ///
    /// - Complexity: O(1), one cache line of counters plus three doorkeeper bits.
    func frequency(_ hash: UInt64) -> Int {
        let mixed = Self.mix(hash ^ seed)
        var minimum = 15
        let base = Int(truncatingIfNeeded: mixed >> 32) & blockMask &* 8
        for row in 0..<4 {
            let (index, shift) = Self.counter(mixed, row: row, base: base)
            minimum = min(minimum, Int(truncatingIfNeeded: (table[index] >> shift) & 0xF))
        }
        return minimum + (doorkeeperContains(mixed) ? 1 : 0)
    }

    /// Records one access to the key with this hash, halving everything when a sample is complete.
    ///
    /// - Complexity: O(1), amortised: the halving walks the table once per `sampleSize` accesses.
    mutating func increment(_ hash: UInt64) {
        let mixed = Self.mix(hash ^ seed)
        additions += 1
        if doorkeeperInsert(mixed) {
            let base = Int(truncatingIfNeeded: mixed >> 32) & blockMask &* 8
            var minimum = 15
            for row in 0..<4 {
                let (index, shift) = Self.counter(mixed, row: row, base: base)
                minimum = min(minimum, Int(truncatingIfNeeded: (table[index] >> shift) & 0xF))
            }
            if minimum < 15 {
                for row in 0..<4 {
                    let (index, shift) = Self.counter(mixed, row: row, base: base)
                    if Int(truncatingIfNeeded: (table[index] >> shift) & 0xF) == minimum {
                        table[index] &+= 1 << shift
                    }
                }
            }
        }
        if additions >= sampleSize { halve() }
    }

    /// The table positions (word index × 16 + counter) of a hash's four counters; for tests of
    /// the seeding.
    func counterPositions(_ hash: UInt64) -> [Int] {
        let mixed = Self.mix(hash ^ seed)
        let base = Int(truncatingIfNeeded: mixed >> 32) & blockMask &* 8
        return (0..<4).map { row in
            let (index, shift) = Self.counter(mixed, row: row, base: base)
            return index * 16 + Int(shift / 4)
        }
    }

    /// Halves every counter and clears the doorkeeper.
    mutating func halve() {
        for index in table.indices {
            table[index] = (table[index] >> 1) & 0x7777_7777_7777_7777
        }
        for index in doorkeeper.indices { doorkeeper[index] = 0 }
        additions /= 2
    }

    // Row `row` uses bits 8*row ..< 8*row+5 of the low half: one bit picks a word of the row's
    // pair, four pick the counter in it. The block comes from the high half.
    @inline(__always)
    private static func counter(_ mixed: UInt64, row: Int, base: Int) -> (index: Int, shift: UInt64) {
        let bits = mixed >> UInt64(row &* 8)
        let index = base &+ row &* 2 &+ Int(truncatingIfNeeded: bits & 1)
        return (index, ((bits >> 1) & 0xF) &* 4)
    }

    private func doorkeeperContains(_ mixed: UInt64) -> Bool {
        let (first, step) = Self.doorkeeperProbe(mixed)
        for round in 0..<3 {
            let bit = Int(truncatingIfNeeded: first &+ UInt64(round) &* step) & doorkeeperMask
            if doorkeeper[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Sets the key's doorkeeper bits; returns whether they were all set already.
    private mutating func doorkeeperInsert(_ mixed: UInt64) -> Bool {
        let (first, step) = Self.doorkeeperProbe(mixed)
        var present = true
        for round in 0..<3 {
            let bit = Int(truncatingIfNeeded: first &+ UInt64(round) &* step) & doorkeeperMask
            let mask: UInt64 = 1 << UInt64(bit & 63)
            if doorkeeper[bit >> 6] & mask == 0 {
                present = false
                doorkeeper[bit >> 6] |= mask
            }
        }
        return present
    }

    /// Double hashing: three probes `first + i·step` from one more mix of the key's hash.
    @inline(__always)
    private static func doorkeeperProbe(_ mixed: UInt64) -> (first: UInt64, step: UInt64) {
        let probe = mix(mixed)
        return (probe & 0xFFFF_FFFF, (probe >> 32) | 1)
    }

    /// A 64-bit finaliser (the SplitMix64 output function): every input bit affects every output bit.
    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func powerOfTwo(atLeast value: Int) -> Int {
        value <= 1 ? 1 : 1 << (Int.bitWidth - (value - 1).leadingZeroBitCount)
    }
}
