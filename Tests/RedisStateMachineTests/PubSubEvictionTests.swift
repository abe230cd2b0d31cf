import Testing

@testable import Redis

/// Shard channels the server drops (slot moved away) or refuses (`MOVED`), as transcripts.
@Suite("Pub/sub state machine: shard channels dropped by the server")
struct PubSubEvictionTests {
    private let t0 = ContinuousClock.now
    private func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0 + .milliseconds(milliseconds) }

    /// Subscribers 1 (shard `s` and channel `a`) and 2 (shard `s`) and 3 (channel `a`), all live.
    private func live() -> PubSubStateMachine {
        var machine = PubSubStateMachine()
        _ = machine.subscribe(1, to: [.shardChannel("s"), .channel("a")])
        _ = machine.connected(at: at(1))
        _ = machine.confirmed(.shardChannel("s"))
        _ = machine.confirmed(.channel("a"))
        _ = machine.subscribe(2, to: [.shardChannel("s")])
        _ = machine.subscribe(3, to: [.channel("a")])
        return machine
    }

    @Test func anUnsubscribeTheClientAskedForIsBookkeeping() {
        var machine = live()
        #expect(machine.unsubscribe(3) == [])
        #expect(machine.unsubscribe(1) == [.channel("a")])
        #expect(machine.unsubscribed(.channel("a")) == nil)
        #expect(machine.unsubscribe(2) == [.shardChannel("s")])
        #expect(machine.unsubscribed(.shardChannel("s")) == nil)
    }

    @Test func aServerDroppedShardChannelEvictsItsListenersAndUnsubscribesWhatIsLeftOrphaned() {
        var machine = live()
        _ = machine.unsubscribe(3)
        let eviction = machine.unsubscribed(.shardChannel("s"))
        #expect(eviction == .init(subscribers: [1, 2], orphaned: [.channel("a")], gap: nil))
        #expect(!machine.wantsConnection)
        #expect(machine.recipients(channel: "s", pattern: nil, sharded: true).isEmpty)
        // The confirmation of the orphan's unsubscribe is bookkeeping, not another eviction.
        #expect(machine.unsubscribed(.channel("a")) == nil)
    }

    @Test func aResubscribeAfterAClientUnsubscribeIsNotMistakenForAServerDrop() {
        var machine = live()
        _ = machine.unsubscribe(1)
        #expect(machine.unsubscribe(2) == [.shardChannel("s")])
        #expect(machine.subscribe(4, to: [.shardChannel("s")]) == .send([.shardChannel("s")]))
        #expect(machine.unsubscribed(.shardChannel("s")) == nil)
        #expect(machine.confirmed(.shardChannel("s")) == ([4], nil))
    }

    @Test func aMovedRefusalEvictsListenersOfEveryShardChannelInThatSlot() {
        var machine = live()
        let slot = HashSlot(key: "s")
        #expect(machine.refused(slot: HashSlot(key: "other-slot-key")) == nil)
        let eviction = machine.refused(slot: slot)
        #expect(eviction?.subscribers == [1, 2])
        #expect(machine.recipients(channel: "a", pattern: nil, sharded: false) == [3])
    }

    @Test func anEvictionDuringResubscribeSettlesTheOthersGap() {
        var machine = live()
        machine.disconnected(at: at(100))
        _ = machine.connected(at: at(200))
        _ = machine.confirmed(.channel("a"))
        // `s` is refused on the new connection: nothing else is outstanding, so 3's loss is over.
        let eviction = machine.refused(slot: HashSlot(key: "s"))
        #expect(eviction?.subscribers == [1, 2])
        #expect(eviction?.gap == PubSubStateMachine.Gap(from: at(100), to: [3]))
    }
}
