@testable import Strata
import Testing

@Suite struct FrequencySketchTests {
    @Test func estimatesCountAccessesAndSaturate() {
        var sketch = FrequencySketch(expectedEntries: 1_024, sampleFactor: 10, seed: 7)
        #expect(sketch.frequency(42) == 0)
        for count in 1...20 {
            sketch.increment(42)
            // The doorkeeper holds the first access, the counter the next fifteen.
            #expect(sketch.frequency(42) == min(count, 16))
        }
    }

    @Test func aCompleteSampleHalvesEveryCounterAndClearsTheDoorkeeper() {
        var sketch = FrequencySketch(expectedEntries: 1_024, sampleFactor: 10, seed: 7)
        for _ in 0..<13 { sketch.increment(42) }
        #expect(sketch.frequency(42) == 13)
        // Other keys fill the sample up to one access before the halving.
        var other: UInt64 = 0
        while sketch.additions < sketch.sampleSize - 1 {
            sketch.increment(other % 100 + 1_000)
            other += 1
        }
        sketch.increment(1_000)
        #expect(sketch.additions == sketch.sampleSize / 2)
        // 12 in the counters (the first access was the doorkeeper's) halve to 6; the doorkeeper
        // bit is gone.
        #expect(sketch.frequency(42) == 6)
    }

    @Test func keysThatShareCountersUnderOneSeedAreApartUnderAnother() {
        // Hash flooding: an attacker who found keys sharing counters for one seed gains nothing
        // against another instance, whose seed is random.
        let first = FrequencySketch(expectedEntries: 64, sampleFactor: 10, seed: 1)
        let second = FrequencySketch(expectedEntries: 64, sampleFactor: 10, seed: 2)
        let target = first.counterPositions(0)
        let colliding = (UInt64(1)..<20_000).filter { first.counterPositions($0)[0] == target[0] }
        #expect(colliding.count > 10)
        let stillColliding = colliding.filter { second.counterPositions($0)[0] == second.counterPositions(0)[0] }
        #expect(stillColliding.count < colliding.count / 4)
    }
}
