#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded SplitMix64 generator, so every scenario replays the same key sequence for both setups.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Zipf-distributed ranks in 0 ..< count with exponent `s` (web caches see s ≈ 0.7–1.0).
///
/// Ranks are scattered over ids by a fixed permutation, so the hottest products are not simply the
/// lowest ids. - Complexity: O(count) to build, O(log count) per draw.
public struct ZipfDistribution: Sendable {
    private let cumulative: [Double]
    private let idOfRank: [Int]

    /// Builds the distribution.
    public init(count: Int, exponent: Double, seed: UInt64 = 7) {
        var cumulative = [Double](repeating: 0, count: count)
        var sum = 0.0
        for rank in 0..<count {
            sum += 1 / pow(Double(rank + 1), exponent)
            cumulative[rank] = sum
        }
        for rank in 0..<count { cumulative[rank] /= sum }
        self.cumulative = cumulative
        var ids = Array(0..<count)
        var random = SeededRandom(seed: seed)
        ids.shuffle(using: &random)
        idOfRank = ids
    }

    /// Draws one id.
    public func next(using random: inout SeededRandom) -> Int {
        let u = random.unit()
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return idOfRank[low]
    }

    /// The id of the most popular product.
    public var hottestID: Int { idOfRank[0] }
}
