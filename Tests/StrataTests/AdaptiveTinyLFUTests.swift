@testable import Strata
import Testing

/// Drives the policy like a cache would: a key → slot map, every miss inserts.
struct PolicyHarness {
    var policy: AdaptiveTinyLFU
    private var slots: [Int: Int32] = [:]
    private var keys: [Int32: Int] = [:]
    private var evicted: [Int32] = []
    private(set) var hits = 0
    private(set) var accesses = 0

    init(capacity: Int, tuning: AdaptiveTinyLFU.Tuning = .init()) {
        policy = AdaptiveTinyLFU(maximumWeight: .max, maximumCount: capacity, seed: 0x5EED, tuning: tuning)
    }

    static func hash(_ key: Int) -> UInt64 { FrequencySketch.mix(UInt64(bitPattern: Int64(key))) }

    func contains(_ key: Int) -> Bool { slots[key] != nil }

    /// Looks `key` up and inserts it on a miss; returns the keys evicted.
    @discardableResult
    mutating func access(_ key: Int) -> [Int] {
        accesses += 1
        if let slot = slots[key] {
            hits += 1
            policy.recordHit(slot)
            return []
        }
        policy.recordMiss(hash: Self.hash(key))
        guard let slot = policy.insert(hash: Self.hash(key), weight: 1) else { return [key] }
        slots[key] = slot
        keys[slot] = key
        evicted.removeAll()
        policy.evict(into: &evicted)
        return evicted.map { slot in
            let gone = keys.removeValue(forKey: slot)!
            slots[gone] = nil
            return gone
        }
    }
}

/// A deterministic generator, so synthetic streams are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return FrequencySketch.mix(state)
    }
}

@Suite struct AdaptiveTinyLFUTests {
    @Test func oneTimeKeysDoNotDisplaceFrequentlyUsedEntries() {
        var harness = PolicyHarness(capacity: 100, tuning: .init(climber: nil))
        for _ in 0..<5 {
            for key in 0..<100 { harness.access(key) }
        }
        for key in 1_000..<2_000 { harness.access(key) }
        // Only the window's single slot turns over; every entry of the main area survives.
        #expect((0..<100).filter(harness.contains).count >= 99)
        #expect((1_000..<1_999).allSatisfy { !harness.contains($0) })
    }

    @Test func aKeyIsAdmittedOnceItIsMoreFrequentThanTheVictim() {
        var harness = PolicyHarness(capacity: 100, tuning: .init(climber: nil))
        for key in 0..<100 { harness.access(key) }  // residents seen once each
        harness.access(5_000)
        harness.access(10_000)  // pushes 5_000 out of the window: a tie with the victim is refused
        #expect(!harness.contains(5_000))
        harness.access(5_000)
        harness.access(10_001)  // seen twice now, it beats a resident seen once
        #expect(harness.contains(5_000))
    }

    @Test func theWindowGrowsOnARecencyBiasedStream() {
        // A drifting working set: keys are hot for a while and then never come back, so recency
        // predicts reuse and old frequencies mislead.
        var harness = PolicyHarness(capacity: 500)
        var random = SplitMix(state: 1)
        for step in 0..<200_000 {
            let base = step / 40
            harness.access(base + Int.random(in: 0..<400, using: &random))
        }
        #expect(harness.policy.windowFraction > 0.5)
    }

    @Test func theWindowShrinksOnAFrequencyBiasedStream() {
        // A stable popular head under a stream of one-time keys: frequency predicts reuse.
        var harness = PolicyHarness(capacity: 500, tuning: .init(initialWindowFraction: 0.5))
        var random = SplitMix(state: 2)
        var fresh = 1_000_000
        for _ in 0..<200_000 {
            if Int.random(in: 0..<2, using: &random) == 0 {
                fresh += 1
                harness.access(fresh)
            } else {
                // Roughly Zipf-like: small keys are much more popular than large ones.
                let rank = Int(Double(2_000) * pow(Double.random(in: 0..<1, using: &random), 3))
                harness.access(rank)
            }
        }
        #expect(harness.policy.windowFraction < 0.2)
    }

    @Test func countBoundHoldsAfterEveryEviction() {
        var harness = PolicyHarness(capacity: 64)
        var random = SplitMix(state: 3)
        for _ in 0..<20_000 {
            harness.access(Int.random(in: 0..<1_000, using: &random))
            #expect(harness.policy.count <= 64)
        }
    }

    @Test func entriesHeavierThanTheCacheAreRefused() {
        var policy = AdaptiveTinyLFU(maximumWeight: 100, maximumCount: .max, seed: 1)
        #expect(policy.insert(hash: 1, weight: 101) == nil)
        let slot = policy.insert(hash: 2, weight: 100)
        #expect(slot != nil)
        var evicted: [Int32] = []
        policy.evict(into: &evicted)
        #expect(evicted.isEmpty)
        #expect(policy.weight == 100)
    }
}

private func pow(_ base: Double, _ exponent: Int) -> Double {
    (0..<exponent).reduce(1) { product, _ in product * base }
}
