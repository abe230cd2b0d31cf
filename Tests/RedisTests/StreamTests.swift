import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Streams: XADD, consumer groups, pending lists, claiming, trimming")
struct StreamTests {
    @Test("consumer-group cycle: XADD, XREADGROUP >, XACK, then nothing pending", arguments: [RedisProtocolVersion.resp3, .resp2])
    func consumerGroupCycle(protocolVersion: RedisProtocolVersion) async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "\(protocolVersion.rawValue):stream"
        try await withClient(configuration(for: server, protocolVersion: protocolVersion)) { client in
            #expect(try await client.createGroupIfMissing(stream, group: "g"))
            #expect(try await client.createGroupIfMissing(stream, group: "g") == false)
            do throws(RedisError) {
                _ = try await client.send(XGROUPCREATE(stream, group: "g"))
                Issue.record("expected BUSYGROUP")
            } catch {
                #expect(error.code == .busyGroup)
            }
            var ids: [String] = []
            for index in 0..<3 {
                let id = try #require(try await client.send(XADD(stream, fields: [(field: "n", value: "\(index)"), (field: "kind", value: "job")])))
                ids.append(id)
            }
            let read = try await client.send(XREADGROUP(stream, group: "g", consumer: "c1", count: 10))
            let entries = try #require(read[stream])
            #expect(entries.map(\.id) == ids)
            #expect(entries.map { $0["n"]?.text } == ["0", "1", "2"])
            #expect(entries[0].fields.map(\.name) == ["n", "kind"])
            #expect(try await client.send(XREADGROUP(stream, group: "g", consumer: "c1")).isEmpty)

            let summary = try await client.send(XPENDING(stream, group: "g"))
            #expect(summary.count == 3)
            #expect(summary.smallestID == ids[0])
            #expect(summary.greatestID == ids[2])
            #expect(summary.consumers == ["c1": 3])
            let pending = try await client.send(XPENDINGRANGE(stream, group: "g", count: 10, consumer: "c1"))
            #expect(pending.map(\.id) == ids)
            #expect(pending.allSatisfy { $0.consumer == "c1" && $0.deliveryCount == 1 })

            #expect(try await client.send(XACK(stream, group: "g", ids: ids)) == 3)
            let empty = try await client.send(XPENDING(stream, group: "g"))
            #expect(empty.count == 0)
            #expect(empty.smallestID == nil)
            #expect(empty.consumers.isEmpty)

            let groups = try await client.send(XINFOGROUPS(stream))
            #expect(groups.count == 1)
            #expect(groups[0].name == "g")
            #expect(groups[0].pending == 0)
            #expect(groups[0].consumers == 1)
            #expect(groups[0].lastDeliveredID == ids[2])
            #expect(groups[0].lag == 0)
            let info = try await client.send(XINFOSTREAM(stream))
            #expect(info.length == 3)
            #expect(info.groups == 1)
            #expect(info.lastGeneratedID == ids[2])
            #expect(info.entriesAdded == 3)
            #expect(info.firstEntry?.id == ids[0])
            #expect(info.lastEntry?["n"]?.text == "2")
            #expect(try await client.send(XLEN(stream)) == 3)
        }
    }

    @Test("a crashed consumer's entries are reclaimed with XAUTOCLAIM once idle long enough")
    func autoclaimAfterCrash() async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server)) { client in
            try await client.createGroupIfMissing(stream, group: "g", startingAfter: "0")
            for index in 0..<4 { _ = try await client.send(XADD(stream, fields: [(field: "n", value: index)])) }
            // c1 takes two entries and "crashes" without acknowledging them.
            let taken = try #require(try await client.send(XREADGROUP(stream, group: "g", consumer: "c1", count: 2))[stream])
            #expect(taken.count == 2)

            let tooSoon = try await client.send(XAUTOCLAIM(stream, group: "g", consumer: "c2", minimumIdle: .seconds(3600)))
            #expect(tooSoon.entries.isEmpty)
            try await Task.sleep(for: .milliseconds(60))
            let claimed = try await client.send(XAUTOCLAIM(stream, group: "g", consumer: "c2", minimumIdle: .milliseconds(50), count: 10))
            #expect(claimed.entries.map(\.id) == taken.map(\.id))
            #expect(claimed.entries.map { $0["n"]?.text } == ["0", "1"])
            #expect(claimed.nextStart == "0-0")
            #expect(claimed.deletedIDs.isEmpty)
            #expect(try await client.send(XPENDING(stream, group: "g")).consumers == ["c2": 2])
            let redelivered = try await client.send(XPENDINGRANGE(stream, group: "g", count: 10))
            #expect(redelivered.allSatisfy { $0.deliveryCount == 2 && $0.consumer == "c2" })
            #expect(try await client.send(XACK(stream, group: "g", ids: claimed.entries.map(\.id))) == 2)
            #expect(try await client.send(XPENDING(stream, group: "g")).count == 0)
        }
    }

    @Test("XCLAIM takes named entries idle long enough, with IDLE and RETRYCOUNT")
    func claimNamedEntries() async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server, protocolVersion: .resp2)) { client in
            try await client.createGroupIfMissing(stream, group: "g")
            let id = try #require(try await client.send(XADD(stream, id: "1-1", fields: [(field: "f", value: "v")])))
            #expect(id == "1-1")
            _ = try await client.send(XREADGROUP(stream, group: "g", consumer: "c1"))
            let notIdle = try await client.send(XCLAIM(stream, group: "g", consumer: "c2", minimumIdle: .seconds(3600), ids: [id]))
            #expect(notIdle.isEmpty)
            let claimed = try await client.send(
                XCLAIM(stream, group: "g", consumer: "c2", minimumIdle: .zero, ids: [id], idle: .seconds(10), retryCount: 7)
            )
            #expect(claimed.map(\.id) == [id])
            #expect(claimed.first?["f"]?.text == "v")
            let pending = try #require(try await client.send(XPENDINGRANGE(stream, group: "g", count: 1)).first)
            #expect(pending.consumer == "c2")
            #expect(pending.deliveryCount == 7)
            #expect(pending.idle >= .seconds(10))
            let stillIdle = try await client.send(XPENDINGRANGE(stream, group: "g", minimumIdle: .seconds(5), count: 10))
            #expect(stillIdle.map(\.id) == [id])
        }
    }

    @Test("entries deleted while pending: XREADGROUP history flags them, XAUTOCLAIM reports and drops them")
    func deletedPendingEntries() async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server)) { client in
            try await client.createGroupIfMissing(stream, group: "g", startingAfter: "0")
            var ids: [String] = []
            for index in 0..<3 { ids.append(try #require(try await client.send(XADD(stream, fields: [(field: "n", value: index)])))) }
            _ = try await client.send(XREADGROUP(stream, group: "g", consumer: "c1", count: 10))
            #expect(try await client.send(XDEL(stream, ids: [ids[1]])) == 1)

            let history = try #require(try await client.send(XREADGROUP(stream, group: "g", consumer: "c1", id: "0"))[stream])
            #expect(history.map(\.id) == ids)
            #expect(history.map(\.isDeleted) == [false, true, false])
            #expect(history[1].fields.isEmpty)

            let claimed = try await client.send(XAUTOCLAIM(stream, group: "g", consumer: "c2", minimumIdle: .zero))
            #expect(claimed.entries.map(\.id) == [ids[0], ids[2]])
            #expect(claimed.deletedIDs == [ids[1]])
            #expect(try await client.send(XPENDING(stream, group: "g")).count == 2)
            // XCLAIM of a deleted entry returns nothing (Redis 7 drops it from the pending list).
            #expect(try await client.send(XCLAIM(stream, group: "g", consumer: "c3", minimumIdle: .zero, ids: [ids[1]])).isEmpty)
        }
    }

    @Test("MAXLEN ~ trims approximately, MAXLEN exactly; NOMKSTREAM and explicit ids")
    func trimmingAndOptions() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            let stream = p + "stream"
            let batch = (0..<1000).map { XADD(stream, fields: [(field: "n", value: $0)], trim: .maxLength(100)) as any RedisCommand }
            for result in try await client.pipeline(batch) { _ = try result.get() }
            let approximate = try await client.send(XLEN(stream))
            #expect(approximate >= 100)
            #expect(approximate < 1000)
            #expect(try await client.send(XTRIM(stream, .maxLength(10, approximate: false))) == approximate - 10)
            let kept = try await client.send(XRANGE(stream))
            #expect(kept.map { $0["n"]?.text } == (990..<1000).map { "\($0)" })
            _ = try await client.send(XADD(stream, fields: [(field: "n", value: "x")], trim: .maxLength(5, approximate: false)))
            #expect(try await client.send(XLEN(stream)) == 5)
            let lastTwo = try await client.send(XRANGE(stream, start: "-", end: "+", count: 2))
            #expect(try await client.send(XTRIM(stream, .minimumID(lastTwo[1].id, approximate: false))) == 1)

            #expect(try await client.send(XADD(p + "absent", fields: [(field: "f", value: "v")], noMakeStream: true)) == nil)
            #expect(try await client.send(EXISTS([p + "absent"])) == 0)

            #expect(try await client.send(XADD(p + "ids", id: "5-1", fields: [(field: "f", value: "v")])) == "5-1")
            do throws(RedisError) {
                _ = try await client.send(XADD(p + "ids", id: "5-0", fields: [(field: "f", value: "v")]))
                Issue.record("an id below the last must be refused")
            } catch {
                #expect(error.code == .err)
            }
            let info = try await client.send(XINFOSTREAM(p + "ids"))
            #expect(info.firstEntry?.id == "5-1")
            #expect(try await client.send(XGROUPDESTROY(p + "ids", group: "none")) == false)
        }
    }
}
