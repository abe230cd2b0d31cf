@testable import Strata
import Testing

@Suite struct SlotIndexTests {
    @Test func findsExactlyTheLiveSlotsThroughInsertsRemovalsAndGrowth() {
        // Few distinct hashes (many collisions) and a small start size, so probe runs are long,
        // removals shift entries back, and the table grows several times.
        var index = SlotIndex(expectedCount: 4)
        var live: [Int32: UInt64] = [:]
        var random = SplitMix(state: 21)
        for step in 0..<20_000 {
            if live.count < 300 && (live.isEmpty || Int.random(in: 0..<3, using: &random) > 0) {
                let slot = (0..<Int32(400)).first { live[$0] == nil }!
                let hash = UInt64.random(in: 0..<64, using: &random) &* 0x9E37_79B9_7F4A_7C15
                index.insert(slot, hash: hash)
                live[slot] = hash
            } else {
                let slot = live.keys.randomElement(using: &random)!
                index.remove(slot)
                live[slot] = nil
            }
            if step % 97 == 0 {
                for (slot, hash) in live { #expect(index.find(hash) { $0 == slot } == slot) }
                #expect(index.find(12_345) { _ in true } == nil)
            }
            #expect(index.count == live.count)
        }
    }
}
