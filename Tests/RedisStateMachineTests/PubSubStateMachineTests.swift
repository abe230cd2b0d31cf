import Testing

@testable import Redis

/// The pub/sub bookkeeping as transcripts: who listens, what to (re)subscribe, who is owed a gap.
@Suite("Pub/sub state machine")
struct PubSubStateMachineTests {
    private let t0 = ContinuousClock.now
    private func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    @Test func theFirstSubscriberOpensTheConnectionAndWaitsForConfirmation() {
        var machine = PubSubStateMachine()
        #expect(machine.subscribe(1, to: [.channel("a"), .pattern("p*")]) == .connect)
        #expect(machine.isAwaiting(1))
        #expect(Set(machine.connected(at: at(1))) == [.channel("a"), .pattern("p*")])
        #expect(machine.confirmed(.channel("a")) == ([], nil))
        #expect(machine.confirmed(.pattern("p*")) == ([1], nil))
        #expect(!machine.isAwaiting(1))
    }

    @Test func aSecondSubscriberSendsOnlyTargetsNobodyListensTo() {
        var machine = PubSubStateMachine()
        _ = machine.subscribe(1, to: [.channel("a")])
        _ = machine.connected(at: at(1))
        _ = machine.confirmed(.channel("a"))
        #expect(machine.subscribe(2, to: [.channel("a")]) == .ready)
        #expect(machine.subscribe(3, to: [.channel("a"), .shardChannel("s")]) == .send([.shardChannel("s")]))
        #expect(machine.recipients(channel: "a", pattern: nil, sharded: false) == [1, 2, 3])
        #expect(machine.recipients(channel: "s", pattern: nil, sharded: true) == [3])
    }

    @Test func leavingUnsubscribesOnlyOrphanedTargets() {
        var machine = PubSubStateMachine()
        _ = machine.subscribe(1, to: [.channel("a"), .channel("b")])
        _ = machine.connected(at: at(1))
        _ = machine.confirmed(.channel("a"))
        _ = machine.confirmed(.channel("b"))
        _ = machine.subscribe(2, to: [.channel("a")])
        #expect(machine.unsubscribe(1) == [.channel("b")])
        #expect(machine.unsubscribe(2) == [.channel("a")])
        #expect(!machine.wantsConnection)
    }

    @Test func aLossIsOwedToLiveSubscribersOnlyAndSettledWhenEverythingIsConfirmedAgain() {
        var machine = PubSubStateMachine()
        _ = machine.subscribe(1, to: [.channel("a")])
        _ = machine.connected(at: at(1))
        _ = machine.confirmed(.channel("a"))
        machine.disconnected(at: at(100))
        // Subscriber 2 joins during the outage: it never had delivery to lose.
        #expect(machine.subscribe(2, to: [.channel("b")]) == .wait)
        // A reconnect that fails before confirming anything keeps the original start.
        _ = machine.connected(at: at(200))
        machine.disconnected(at: at(250))
        #expect(Set(machine.connected(at: at(400))) == [.channel("a"), .channel("b")])
        #expect(machine.confirmed(.channel("a")) == ([], nil))
        let (ready, gap) = machine.confirmed(.channel("b"))
        #expect(ready == [2])
        #expect(gap == PubSubStateMachine.Gap(from: at(100), to: [1]))
        // Settled: a later confirmation owes nothing.
        #expect(machine.confirmed(.channel("a")).gap == nil)
    }

    @Test func aSubscriberThatLeftDuringTheOutageIsOwedNothing() {
        var machine = PubSubStateMachine()
        _ = machine.subscribe(1, to: [.channel("a")])
        _ = machine.subscribe(2, to: [.channel("a")])
        _ = machine.connected(at: at(1))
        _ = machine.confirmed(.channel("a"))
        machine.disconnected(at: at(10))
        _ = machine.unsubscribe(1)
        _ = machine.connected(at: at(20))
        #expect(machine.confirmed(.channel("a")).gap == PubSubStateMachine.Gap(from: at(10), to: [2]))
    }
}
