import NIOCore
import RESP
import Testing

@testable import Redis

typealias PipelineMachine = ClusterPipelineStateMachine

/// Three shards split like `redis-cli --cluster create` does: 0–5460, 5461–10922, 10923–16383.
func threeShardOwner(_ slot: HashSlot?) -> RedisEndpoint? {
    guard let slot else { return local(7001) }
    switch slot.rawValue {
    case ..<5461: return local(7001)
    case ..<10923: return local(7002)
    default: return local(7003)
    }
}

/// A key whose slot is owned by `port` in ``threeShardOwner(_:)``.
func key(on port: Int, _ tag: String = "") -> String {
    (0...).lazy.map { "k\(tag)\($0)" }.first { threeShardOwner(HashSlot(key: $0)) == local(port) }!
}

func ok() throws -> Result<RESPToken, RedisError> { .success(try token(.simpleString("OK"))) }
func failure(_ message: String) -> Result<RESPToken, RedisError> { .failure(RedisError(serverMessage: message)) }

/// The batches of a `send` action, or an issue.
func batches(_ action: PipelineMachine.Action) -> [PipelineMachine.Batch] {
    guard case .send(let batches, _) = action else {
        Issue.record("expected send, got \(action)")
        return []
    }
    return batches
}

@Suite("Cluster pipeline state machine")
struct ClusterPipelineStateMachineTests {
    @Test("Commands are grouped into one batch per node, in the caller's order; keyless ones go to any primary")
    func grouping() throws {
        let a = key(on: 7001), b = key(on: 7002), c = key(on: 7001, "x")
        var machine = PipelineMachine(
            commands: [GET(a), SET(b, "1"), PING(), GET(c), DEL([b])], maximumRedirects: 5)
        let sent = batches(machine.next(route: threeShardOwner))
        #expect(sent == [
            .init(endpoint: local(7001), asking: false, units: [0, 2, 3]),
            .init(endpoint: local(7002), asking: false, units: [1, 4]),
        ])
        _ = machine.received([try ok(), try ok(), try ok()], for: sent[0])
        #expect(machine.next(route: threeShardOwner) != .finished)
        _ = machine.received([try ok(), try ok()], for: sent[1])
        #expect(machine.next(route: threeShardOwner) == .finished)
        #expect(machine.finalResults.allSatisfy { (try? $0.get()) != nil })
    }

    @Test("A command or transaction whose keys span slots fails with crossSlot and is never sent")
    func crossSlotRefusedBeforeSending() throws {
        let a = key(on: 7001), b = key(on: 7002)
        var machine = PipelineMachine(
            commands: [MGET([a, b]), MULTI(), SET(a, "1"), SET(b, "2"), EXEC(), GET(a)], maximumRedirects: 5)
        #expect(machine.units.map(\.commands) == [0..<1, 1..<5, 5..<6])
        let sent = batches(machine.next(route: threeShardOwner))
        #expect(sent == [.init(endpoint: local(7001), asking: false, units: [2])])
        _ = machine.received([try ok()], for: sent[0])
        #expect(machine.next(route: threeShardOwner) == .finished)
        let codes = machine.finalResults.map { result -> RedisError.Code? in
            if case .failure(let error) = result { return error.code }
            return nil
        }
        #expect(codes == [.crossSlot, .crossSlot, .crossSlot, .crossSlot, .crossSlot, nil])
    }

    @Test("MOVED sends the command to the named node next round and asks for a refresh")
    func movedRedirect() throws {
        let a = key(on: 7001)
        var machine = PipelineMachine(commands: [SET(a, "1"), GET(a)], maximumRedirects: 5)
        let first = batches(machine.next(route: threeShardOwner))
        let slot = HashSlot(key: a)
        let handled = machine.received(
            [failure("MOVED \(slot) 127.0.0.1:7003"), failure("MOVED \(slot) 127.0.0.1:7003")], for: first[0])
        #expect(handled == [.moved, .moved])
        #expect(machine.next(route: threeShardOwner) == .send([.init(endpoint: local(7003), asking: false, units: [0, 1])], refresh: true))
    }

    @Test("ASK sends the unit behind ASKING to the target without changing the route of others")
    func askRedirect() throws {
        let a = key(on: 7001), b = key(on: 7001, "y")
        var machine = PipelineMachine(commands: [GET(a), GET(b)], maximumRedirects: 5)
        let first = batches(machine.next(route: threeShardOwner))
        let handled = machine.received([failure("ASK \(HashSlot(key: a)) 127.0.0.1:7002"), try ok()], for: first[0])
        #expect(handled == [.ask])
        #expect(machine.next(route: threeShardOwner) == .send([.init(endpoint: local(7002), asking: true, units: [0])], refresh: false))
    }

    @Test("TRYAGAIN pauses, then routes by the map again; CLUSTERDOWN also asks for a refresh")
    func tryAgainAndClusterDown() throws {
        let a = key(on: 7001), b = key(on: 7002)
        var machine = PipelineMachine(commands: [MGET([a, "{\(a)}x"]), GET(b)], maximumRedirects: 5)
        let first = batches(machine.next(route: threeShardOwner))
        _ = machine.received([failure("TRYAGAIN Multiple keys request during rehashing of slot")], for: first[0])
        _ = machine.received([failure("CLUSTERDOWN The cluster is down")], for: first[1])
        #expect(machine.next(route: threeShardOwner) == .pause(max(ClusterErrorStep.tryAgainDelay, ClusterErrorStep.clusterDownDelay), refresh: true))
        #expect(batches(machine.next(route: threeShardOwner)).count == 2)
    }

    @Test("Redirects past the cap fail the command with tooManyRedirects")
    func redirectCap() throws {
        let a = key(on: 7001)
        var machine = PipelineMachine(commands: [GET(a)], maximumRedirects: 2)
        for round in 0...2 {
            let sent = batches(machine.next(route: threeShardOwner))
            _ = machine.received([failure("MOVED \(HashSlot(key: a)) 127.0.0.1:\(7002 + round % 2)")], for: sent[0])
        }
        #expect(machine.next(route: threeShardOwner) == .finished)
        guard case .failure(let error) = machine.finalResults[0] else { Issue.record("expected failure"); return }
        #expect(error.code == .tooManyRedirects)
        #expect((error.underlying as? RedisError)?.code == .moved)
    }

    @Test("A transaction aborted by a queued command's MOVED is resent whole to the new owner")
    func transactionRedirect() throws {
        let a = key(on: 7001)
        var machine = PipelineMachine(commands: [MULTI(), SET(a, "1"), INCRBY("{\(a)}n"), EXEC()], maximumRedirects: 5)
        let first = batches(machine.next(route: threeShardOwner))
        let moved = "MOVED \(HashSlot(key: a)) 127.0.0.1:7002"
        _ = machine.received([try ok(), failure(moved), failure(moved), failure("EXECABORT Transaction discarded")], for: first[0])
        let second = batches(machine.next(route: threeShardOwner))
        #expect(second == [.init(endpoint: local(7002), asking: false, units: [0])])
        let exec = try token(.array([.simpleString("OK"), .integer(1)]))
        let queued = try token(.simpleString("QUEUED"))
        _ = machine.received([try ok(), .success(queued), .success(queued), .success(exec)], for: second[0])
        #expect(machine.next(route: threeShardOwner) == .finished)
        let outcome = try RedisTransactionOutcome(pipelineResults: machine.finalResults, commands: [SET(a, "1"), INCRBY("{\(a)}n")])
        #expect(outcome.isCommitted)
    }

    @Test("Unroutable units wait for the map; at the deadline they fail with their last error")
    func unroutableThenExpired() throws {
        let a = key(on: 7001)
        var machine = PipelineMachine(commands: [GET(a)], maximumRedirects: 5)
        #expect(machine.next { _ in nil } == .pause(ClusterErrorStep.clusterDownDelay, refresh: true))
        machine.expire(fallback: RedisError(.timeout))
        #expect(machine.next(route: threeShardOwner) == .finished)
        guard case .failure(let error) = machine.finalResults[0] else { Issue.record("expected failure"); return }
        #expect(error.code == .timeout)
    }

    @Test("A batch whose node client was retired is routed again; a connection failure is final")
    func batchFailures() throws {
        let a = key(on: 7001), b = key(on: 7002)
        var machine = PipelineMachine(commands: [GET(a), GET(b)], maximumRedirects: 5)
        let sent = batches(machine.next(route: threeShardOwner))
        machine.failed(RedisError(.shutdown), batch: sent[0], reroute: true)
        machine.failed(RedisError(.connectionClosed), batch: sent[1], reroute: false)
        #expect(machine.next(route: threeShardOwner) == .send([.init(endpoint: local(7001), asking: false, units: [0])], refresh: true))
        guard case .failure(let error) = machine.finalResults[1] else { Issue.record("expected failure"); return }
        #expect(error.code == .connectionClosed)
    }
}

@Suite("Cluster key placement and splitting")
struct ClusterKeyPlacementTests {
    @Test("Keys sharing a hash tag share a slot; keys of different slots are cross-slot; no keys is any primary")
    func placement() {
        #expect(ClusterKeyPlacement(keys: []) == .anyPrimary)
        #expect(ClusterKeyPlacement(keys: ["{user:1}:a", "{user:1}:b"]) == .slot(HashSlot(key: "user:1")))
        #expect(ClusterKeyPlacement(keys: ["foo", "bar"]) == .crossSlot)
        #expect(ClusterKeyPlacement(keys: ["foo", "foo"]) == .slot(HashSlot(key: "foo")))
    }

    @Test("Typed commands list their keys for routing")
    func commandKeys() {
        #expect(GET("a").keys == ["a"])
        #expect(MSET([(key: "a", value: "1"), (key: "b", value: "2")]).keys == ["a", "b"])
        #expect(EVALSHA(RedisScript("return 1"), keys: ["x", "y"]).keys == ["x", "y"])
        #expect(SPUBLISH("channel", "m").keys == ["channel"])
        #expect(PING().keys.isEmpty)
        #expect(RawCommand(["GET", "k"], keys: ["k"]).keys == ["k"])
    }

    @Test("Split MGET replies are put back at their keys' positions; counts add up")
    func combine() throws {
        let parts: [(positions: [Int], response: [ByteBuffer?])] = [
            ([0, 2], [ByteBuffer(string: "a"), nil]), ([1, 3], [nil, ByteBuffer(string: "d")]),
        ]
        #expect(try MGET.combine(parts, keyCount: 4) == [ByteBuffer(string: "a"), nil, nil, ByteBuffer(string: "d")])
        #expect(throws: RedisError.self) { try MGET.combine([([0, 1], [nil])], keyCount: 2) }
        #expect(DEL.combine([([0], 1), ([1, 2], 2)], keyCount: 3) == 3)
    }
}
