import Testing

@testable import Strata

@Suite struct TagEpochTableTests {
    @Test func anEntryIsStaleOnceAnyOfItsTagsMovesPastWhatItRecorded() {
        var table = TagEpochTable()
        table.observe("@item", epoch: 3)
        table.observe("color", epoch: 1)
        let (stamps, unresolved) = table.stamps(for: ["@item", "color"])
        #expect(unresolved.isEmpty)
        #expect(stamps.map(\.epoch) == [3, 1])
        #expect(TagEpochTable.verdict(stamps) == .current)
        table.observe("color", epoch: 2)
        #expect(TagEpochTable.verdict(stamps) == .stale)
    }

    @Test func knowledgeOnlyMovesForward() {
        var table = TagEpochTable()
        #expect(table.observe("t", epoch: 5).raised)
        #expect(!table.observe("t", epoch: 4).raised)
        #expect(!table.observe("t", epoch: 5).raised)
        #expect(table.epoch(of: "t") == 5)
        let stamps = [TagStamp(cell: table.cell(for: "t"), epoch: 7)]
        // Recorded by an instance that knew more: still current here.
        #expect(TagEpochTable.verdict(stamps) == .current)
    }

    @Test func tagsNeverFetchedAreUnresolvedAndStampedZero() {
        var table = TagEpochTable()
        let (stamps, unresolved) = table.stamps(for: ["new"])
        #expect(unresolved == ["new"])
        #expect(stamps.map(\.epoch) == [0])
        #expect(TagEpochTable.verdict(stamps) == .unresolved)
        #expect(TagEpochTable.unresolvedTags(in: stamps) == ["new"])
        table.observe("new", epoch: 0)
        #expect(TagEpochTable.verdict(stamps) == .current)
        #expect(TagEpochTable.unresolvedTags(in: stamps).isEmpty)
    }

    @Test func aBumpOfATagThisInstanceNeverUsedIsNotRemembered() {
        var table = TagEpochTable()
        #expect(table.observeIfKnown("elsewhere", epoch: 9) == nil)
        #expect(table.count == 0)
        _ = table.cell(for: "here")
        #expect(table.observeIfKnown("here", epoch: 2)?.raised == true)
    }

    @Test func staleWinsOverUnresolved() {
        var table = TagEpochTable()
        table.observe("known", epoch: 2)
        let stamps = table.stamps(for: ["unknown", "known"]).stamps.map { stamp in
            var stamp = stamp
            if stamp.tag == "known" { stamp.epoch = 1 }
            return stamp
        }
        #expect(TagEpochTable.verdict(stamps) == .stale)
    }

    @Test func recordedEpochsShareTheCellsOfThisTable() {
        var table = TagEpochTable()
        table.observe("a", epoch: 4)
        let stamps = table.stamps(recorded: [.init(tag: "a", epoch: 3), .init(tag: "b", epoch: 0)])
        #expect(stamps[0].cell === table.cell(for: "a"))
        #expect(stamps.map(\.tag) == ["a", "b"])
        #expect(TagEpochTable.verdict(stamps) == .stale)
        #expect(table.allTags == ["a", "b"])
    }

    @Test func tagEpochMessagesRoundTripOnTheWire() throws {
        let message = InvalidationMessage(publisher: 7, sequence: 3, scope: .tagEpoch(tag: "category:é", epoch: 1 << 40))
        let decoded = try #require(InvalidationMessage(decoding: message.encoded()))
        #expect(decoded == message)
        #expect(InvalidationMessage(decoding: Array(message.encoded().dropLast())) == nil)
        #expect(InvalidationMessage(decoding: message.encoded() + [0]) == nil)
    }
}
