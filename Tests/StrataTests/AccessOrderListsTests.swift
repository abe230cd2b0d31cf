@testable import Strata
import Testing

@Suite struct AccessOrderListsTests {
    typealias Region = AccessOrderLists.Region

    /// Walks a list from its least to its most recently used node, checking the back links.
    static func walk(_ lists: AccessOrderLists, _ region: Region) -> [Int32] {
        var order: [Int32] = []
        var slot = lists[list: region].head
        var previous: Int32 = -1
        while slot >= 0 {
            #expect(lists[slot].previous == previous)
            #expect(lists[slot].region == region)
            order.append(slot)
            previous = slot
            slot = lists[slot].next
        }
        #expect(lists[list: region].tail == previous)
        return order
    }

    @Test func randomOperationsMatchAnArrayModel() {
        var lists = AccessOrderLists()
        var model: [Region: [Int32]] = [.window: [], .probation: [], .protected: []]
        var weights: [Int32: Int] = [:]
        var random = SplitMix(state: 11)
        let regions: [Region] = [.window, .probation, .protected]
        for _ in 0..<5_000 {
            let live = model.values.flatMap { $0 }
            let region = regions.randomElement(using: &random)!
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4 where live.count < 200:
                let weight = Int.random(in: 0...5, using: &random)
                let slot = lists.allocate(hash: 0, weight: weight, in: region)
                #expect(!live.contains(slot))
                model[region]!.append(slot)
                weights[slot] = weight
            case 4..<7 where !live.isEmpty:
                let slot = live.randomElement(using: &random)!
                for key in model.keys { model[key]!.removeAll { $0 == slot } }
                lists.move(slot, to: region)
                model[region]!.append(slot)
            case 7 where !live.isEmpty:
                let slot = live.randomElement(using: &random)!
                for key in model.keys { model[key]!.removeAll { $0 == slot } }
                lists.moveToFront(slot, of: region)
                model[region]!.insert(slot, at: 0)
            case 8 where !live.isEmpty:
                let slot = live.randomElement(using: &random)!
                let weight = Int.random(in: 0...5, using: &random)
                lists.setWeight(slot, to: weight)
                weights[slot] = weight
            default:
                guard let slot = live.randomElement(using: &random) else { continue }
                for key in model.keys { model[key]!.removeAll { $0 == slot } }
                lists.free(slot)
                weights[slot] = nil
            }
            for region in regions {
                #expect(Self.walk(lists, region) == model[region]!)
                #expect(lists[list: region].count == model[region]!.count)
                #expect(lists[list: region].weight == model[region]!.reduce(0) { $0 + weights[$1]! })
            }
        }
    }
}
