import NIOCore
import RESP
import Testing

@testable import Redis

private typealias Machine = SentinelReplicaStateMachine

private let primary = RedisEndpoint(host: "10.0.0.1", port: 6379)
private let newPrimary = RedisEndpoint(host: "10.0.0.2", port: 6379)
private let r1 = RedisEndpoint(host: "10.0.0.2", port: 6379)
private let r2 = RedisEndpoint(host: "10.0.0.3", port: 6379)
private let r3 = RedisEndpoint(host: "10.0.0.4", port: 6379)

/// Periodic re-read every 10 s, 100 ms spacing, backoff 100 ms doubling to 10 s.
private func machine() -> Machine {
    Machine(
        configuration: .init(
            periodicInterval: .seconds(10), minimumSpacing: .milliseconds(100), initialBackoff: .milliseconds(100),
            maximumBackoff: .seconds(10)),
        now: ms(0)
    )
}

private func healthy(_ endpoint: RedisEndpoint) -> SentinelReplicaEntry {
    SentinelReplicaEntry(endpoint: endpoint, flags: ["slave"], masterLinkStatus: "ok")
}

private func entry(_ endpoint: RedisEndpoint, flags: Set<String>, link: String = "ok") -> SentinelReplicaEntry {
    SentinelReplicaEntry(endpoint: endpoint, flags: flags, masterLinkStatus: link)
}

private func synced(to node: RedisEndpoint) -> SentinelNodeRole { .replica(of: node, linkUp: true) }

/// A machine whose first round made `replicas` readable (settled, periodic re-read armed).
private func settled(_ replicas: [RedisEndpoint]) -> Machine {
    var m = machine()
    _ = m.started(now: ms(0))
    let actions = m.discovered(primary: primary, replicas: replicas.map(healthy), now: ms(10))
    for endpoint in replicas { _ = m.roleChecked(endpoint, role: synced(to: primary), round: actions.round, now: ms(20)) }
    return m
}

@Suite("Sentinel replica reads: discovery, ROLE checks and events, without I/O")
struct SentinelReplicaStateMachineTests {
    @Test("only listed-healthy replicas are checked, and only those replicating the primary with their link up serve reads")
    func firstRound() {
        var m = machine()
        #expect(m.started(now: ms(0)).schedule == .startRefresh(.requested))
        let listed = [
            healthy(r1), healthy(r2),
            entry(r3, flags: ["s_down", "slave", "disconnected"]),  // down: skipped, does not unsettle
            entry(RedisEndpoint(host: "10.0.0.5", port: 6379), flags: ["slave"], link: "err"),  // syncing: unsettles
            entry(RedisEndpoint(host: "10.0.0.6", port: 6379), flags: ["o_down", "slave"]),
            healthy(primary),  // a sentinel mid-failover may list the primary itself
        ]
        let round = m.discovered(primary: primary, replicas: listed, now: ms(10))
        #expect(round.check == [r1, r2])
        #expect(round.retire.isEmpty)
        #expect(round.schedule == .none)
        #expect(m.readable.isEmpty, "nothing serves reads before its ROLE check")

        #expect(m.roleChecked(r1, role: synced(to: primary), round: round.round, now: ms(20)) == .none)
        #expect(m.readable == [r1])
        // r2 follows another primary: not readable; the round ends unsettled and backs off.
        let end = m.roleChecked(r2, role: synced(to: newPrimary), round: round.round, now: ms(30))
        #expect(end.schedule == .armTimer(ms(130)))
        #expect(m.readable == [r1])
        #expect(m.knownReplicas == [r1, r2])
    }

    @Test("a replica whose link is not connected, a primary, or a failed check does not serve reads")
    func rejectedRoles() {
        var m = machine()
        _ = m.started(now: ms(0))
        let round = m.discovered(primary: primary, replicas: [healthy(r1), healthy(r2), healthy(r3)], now: ms(10)).round
        _ = m.roleChecked(r1, role: .replica(of: primary, linkUp: false), round: round, now: ms(20))
        _ = m.roleChecked(r2, role: .primary, round: round, now: ms(20))
        let end = m.checkFailed(r3, round: round, now: ms(20))
        #expect(m.readable.isEmpty, "no readable replica: reads go to the primary")
        #expect(end.schedule == .armTimer(ms(120)))
        // The retry re-checks every listed replica.
        #expect(m.timerFired(now: ms(120)).schedule == .startRefresh(.retry))
        let retry = m.discovered(primary: primary, replicas: [healthy(r1), healthy(r2), healthy(r3)], now: ms(130))
        #expect(retry.check == [r1, r2, r3])
        #expect(retry.round == round + 1)
    }

    @Test("a settled round arms the periodic re-read; a replica no longer listed healthy is retired")
    func periodicAndRetire() {
        var m = settled([r1, r2])
        #expect(m.readable == [r1, r2])
        #expect(m.timerFired(now: ms(5_000)).schedule == .armTimer(ms(10_020)))
        #expect(m.timerFired(now: ms(10_020)).schedule == .startRefresh(.periodic))
        let next = m.discovered(primary: primary, replicas: [healthy(r1), entry(r2, flags: ["s_down", "slave"])], now: ms(10_030))
        #expect(next.retire == [r2])
        #expect(next.check == [r1])
        #expect(m.readable == [r1], "a readable replica keeps serving while it is re-checked")
        #expect(m.knownReplicas == [r1])
    }

    @Test("+switch-master stops replica reads until each is checked against the new primary, without waiting out a backoff")
    func switchMaster() {
        var m = machine()
        _ = m.started(now: ms(0))
        // A failing sentinel builds up a backoff of 100, 200, 400 ms...
        _ = m.discoveryFailed(now: ms(10))
        _ = m.timerFired(now: ms(110))
        let failed = m.discoveryFailed(now: ms(120))
        #expect(failed.schedule == .armTimer(ms(320)))
        // ...which the switch clears: the re-read waits for the spacing alone.
        let switched = m.primarySwitched(to: newPrimary, now: ms(130))
        #expect(switched.schedule == .armTimer(ms(230)))
        #expect(m.timerFired(now: ms(230)).schedule == .startRefresh(.retry))
        #expect(m.primary == newPrimary)

        var n = settled([r2, r3])
        #expect(n.primarySwitched(to: r3, now: ms(1_000)).schedule == .startRefresh(.requested))
        #expect(n.readable.isEmpty)
        let round = n.discovered(primary: r3, replicas: [healthy(r2), entry(primary, flags: ["s_down", "slave"])], now: ms(1_010))
        #expect(round.check == [r2])
        #expect(round.retire == [r3], "the promoted replica is no longer a replica")
        #expect(n.roleChecked(r2, role: synced(to: primary), round: round.round, now: ms(1_020)).schedule == .armTimer(ms(1_120)))
        #expect(n.readable.isEmpty, "still following the old primary")
        _ = n.timerFired(now: ms(1_120))
        let again = n.discovered(primary: r3, replicas: [healthy(r2)], now: ms(1_130))
        #expect(n.roleChecked(r2, role: synced(to: r3), round: again.round, now: ms(1_140)).schedule == .armTimer(ms(11_140)))
        #expect(n.readable == [r2])
    }

    @Test("+sdown of a replica and a failed read stop its reads at once and request a re-read")
    func downAndFailedReads() {
        var m = settled([r1, r2])
        // Within the spacing after the last round (it ended at 20 ms), the re-read waits for it.
        #expect(m.replicaDown(r1, now: ms(100)).schedule == .armTimer(ms(120)))
        #expect(m.readable == [r2])
        #expect(m.timerFired(now: ms(120)).schedule == .startRefresh(.requested))
        // While that discovery runs, a failed read coalesces into one follow-up.
        #expect(m.readFailed(r2, now: ms(130)) == .none)
        #expect(m.readable.isEmpty)
        #expect(m.readFailed(r2, now: ms(131)) == .none, "an unreadable replica is not reported twice")
        let round = m.discovered(primary: primary, replicas: [healthy(r1), healthy(r2)], now: ms(140))
        _ = m.roleChecked(r1, role: synced(to: primary), round: round.round, now: ms(150))
        let end = m.roleChecked(r2, role: synced(to: primary), round: round.round, now: ms(150))
        #expect(end.schedule == .armTimer(ms(250)), "the coalesced follow-up, after the spacing")
        #expect(m.readable == [r1, r2])
        // -sdown / +slave only request a re-read.
        var n = settled([r1])
        #expect(n.replicasChanged(now: ms(500)).schedule == .startRefresh(.requested))
        #expect(n.readable == [r1])
    }

    @Test("results of an earlier round and unknown replicas are ignored; a discovery during a round is not accepted")
    func staleResults() {
        var m = machine()
        _ = m.started(now: ms(0))
        let first = m.discovered(primary: primary, replicas: [healthy(r1)], now: ms(10))
        #expect(m.discovered(primary: primary, replicas: [healthy(r2)], now: ms(11)) == .none)
        #expect(m.roleChecked(r2, role: synced(to: primary), round: first.round, now: ms(12)) == .none)
        _ = m.checkFailed(r1, round: first.round, now: ms(20))
        _ = m.timerFired(now: ms(120))
        let second = m.discovered(primary: primary, replicas: [healthy(r1)], now: ms(130))
        #expect(m.roleChecked(r1, role: synced(to: primary), round: first.round, now: ms(140)) == .none)
        #expect(m.readable.isEmpty)
        _ = m.roleChecked(r1, role: synced(to: primary), round: second.round, now: ms(150))
        #expect(m.readable == [r1])
    }

    @Test("shutdown retires every replica client and ignores later events")
    func shutdown() {
        var m = settled([r1, r2])
        #expect(m.shutdown().retire == [r1, r2])
        #expect(m.readable.isEmpty)
        #expect(m.replicaDown(r1, now: ms(100)) == .none)
        #expect(m.timerFired(now: ms(20_000)) == .none)
    }
}

@Suite("Sentinel replies: SENTINEL REPLICAS, ROLE and events")
struct SentinelRepliesTests {
    @Test("SENTINEL REPLICAS reads RESP2 flat arrays and RESP3 maps; flags and link status decide health")
    func replicaList() throws {
        let resp2 = try token(
            "*2\r\n"
                + "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n7001\r\n$5\r\nflags\r\n$5\r\nslave\r\n"
                + "$18\r\nmaster-link-status\r\n$2\r\nok\r\n"
                + "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n7002\r\n$5\r\nflags\r\n$25\r\ns_down,slave,disconnected\r\n"
                + "$18\r\nmaster-link-status\r\n$3\r\nerr\r\n")
        let entries = try SentinelReplicaEntry.list(fromRESP: resp2)
        #expect(entries.map(\.endpoint.port) == [7001, 7002])
        #expect(entries[0].isHealthy && !entries[0].isDown)
        #expect(!entries[1].isHealthy && entries[1].isDown)
        #expect(entries[1].flags == ["s_down", "slave", "disconnected"])

        let resp3 = try token(
            "*1\r\n%3\r\n$2\r\nip\r\n$8\r\n10.0.0.9\r\n$4\r\nport\r\n$4\r\n6380\r\n$5\r\nflags\r\n$18\r\nslave,disconnected\r\n")
        let mapped = try SentinelReplicaEntry.list(fromRESP: resp3)
        #expect(mapped == [SentinelReplicaEntry(
            endpoint: RedisEndpoint(host: "10.0.0.9", port: 6380), flags: ["slave", "disconnected"], masterLinkStatus: nil)])
        #expect(!mapped[0].isHealthy && !mapped[0].isDown)

        #expect(try SentinelReplicaEntry.list(fromRESP: token("*0\r\n")).isEmpty)
        #expect(throws: RedisError.self) { try SentinelReplicaEntry.list(fromRESP: token("*1\r\n*2\r\n$2\r\nip\r\n$1\r\nx\r\n")) }
        #expect(throws: RedisError.self) { try SentinelReplicaEntry.list(fromRESP: token("$2\r\nno\r\n")) }
    }

    @Test("ROLE of a primary, a replica in each link state, and a sentinel")
    func role() throws {
        #expect(try SentinelNodeRole(roleReply: token("*3\r\n$6\r\nmaster\r\n:10\r\n*0\r\n")) == .primary)
        for (state, up) in [("connected", true), ("sync", false), ("connect", false)] {
            let wire = "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$\(state.utf8.count)\r\n\(state)\r\n:10\r\n"
            #expect(try SentinelNodeRole(roleReply: token(wire)) == .replica(of: RedisEndpoint(host: "127.0.0.1", port: 6379), linkUp: up))
        }
        #expect(try SentinelNodeRole(roleReply: token("*2\r\n$8\r\nsentinel\r\n*0\r\n")) == .other)
        #expect(throws: RedisError.self) { try SentinelNodeRole(roleReply: token("*2\r\n$5\r\nslave\r\n$1\r\nx\r\n")) }
        #expect(throws: RedisError.self) { try SentinelNodeRole(roleReply: token("+OK\r\n")) }
    }

    @Test("events about the service are read; other services, primaries' own events and junk are not")
    func events() {
        let parse = { (channel: String, payload: String) in SentinelEvent.parse(channel: channel, payload: payload, service: "svc") }
        #expect(parse("+switch-master", "svc 10.0.0.1 6379 10.0.0.2 6380") == .switchMaster(RedisEndpoint(host: "10.0.0.2", port: 6380)))
        #expect(parse("+switch-master", "other 10.0.0.1 6379 10.0.0.2 6380") == nil)
        #expect(parse("+switch-master", "svc 10.0.0.1 6379 10.0.0.2") == nil)
        let replica = "slave 10.0.0.3:6381 10.0.0.3 6381 @ svc 10.0.0.1 6379"
        #expect(parse("+sdown", replica) == .replicaDown(RedisEndpoint(host: "10.0.0.3", port: 6381)))
        #expect(parse("-sdown", replica) == .replicasChanged)
        #expect(parse("+slave", replica) == .replicasChanged)
        #expect(parse("+sdown", "slave 10.0.0.3:6381 10.0.0.3 6381 @ other 10.0.0.1 6379") == nil)
        #expect(parse("+sdown", "master svc 10.0.0.1 6379") == nil)
        #expect(parse("+sdown", "sentinel 10.0.0.9:26379 10.0.0.9 26379 @ svc 10.0.0.1 6379") == nil)
        #expect(SentinelEvent.channels(replicaReads: false) == ["+switch-master"])
        #expect(SentinelEvent.channels(replicaReads: true).count == 4)
    }
}
