import Testing

@testable import StrataRedis

/// The worker's decisions as transcripts: events in, actions out, time passed explicitly.
@Suite struct WriteBehindStateMachineTests {
    typealias Machine = WriteBehindStateMachine

    static func configuration(
        partitions: Int = 2, maximumDeliveries: Int = 3, maximumBuffered: Int = 100, concurrent: Int = 8
    ) -> Machine.Configuration {
        Machine.Configuration(
            partitions: partitions, maximumDeliveries: maximumDeliveries, retryDelay: .milliseconds(100),
            maximumRetryDelay: .milliseconds(350), claimInterval: .seconds(10), heartbeatInterval: .seconds(20), readCount: 50, maximumBlock: .seconds(2),
            maximumBlockWhileApplying: .milliseconds(50),
            maximumBuffered: maximumBuffered, maximumConcurrentApplies: concurrent, acknowledgeBatch: 256, acknowledgeDelay: .milliseconds(10),
            metricsInterval: .seconds(5), ioBackoff: .milliseconds(50), maximumIOBackoff: .milliseconds(400))
    }

    static func entry(_ key: String, _ version: Int64, id: String, partition: Int = 0, deliveries: Int = 1) -> WriteBehindEntry {
        WriteBehindEntry(key: key, version: version, payload: [1, 2], id: id, partition: partition, deliveryCount: deliveries)
    }

    /// A machine past start-up (groups created, first sample and claim sweep done) at time zero.
    static func started(_ configuration: Machine.Configuration = configuration()) -> Machine {
        var machine = Machine(configuration: configuration)
        #expect(machine.next(now: .zero) == .createGroups)
        machine.groupsCreated()
        #expect(machine.next(now: .zero) == .sampleBacklog)
        machine.ioSucceeded()
        for partition in 0..<configuration.partitions {
            #expect(machine.next(now: .zero) == .claimAbandoned(partition: partition, start: "0-0"))
            machine.claimed(partition: partition, [], nextStart: "0-0")
        }
        return machine
    }

    @Test func startsByCreatingGroupsSamplingAndSweepingThenReads() {
        var machine = Self.started()
        #expect(machine.next(now: .zero) == .read(count: 50, block: .seconds(2)))
    }

    @Test func appliesDistinctKeysTogetherAndOneKeyInQueueOrder() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), b1 = Self.entry("b", 1, id: "2-0"), a2 = Self.entry("a", 2, id: "3-0")
        machine.read([.entry(a1), .entry(b1), .entry(a2)])
        #expect(machine.next(now: .zero) == .apply([a1, b1]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: true), .init(id: "2-0", key: "b", succeeded: true)], now: .zero)
        #expect(machine.next(now: .zero) == .apply([a2]))
        machine.applied([.init(id: "3-0", key: "a", succeeded: true)], now: .zero)
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["1-0", "2-0", "3-0"]))
        machine.ioSucceeded()
        #expect(machine.bufferedCount == 0)
        #expect(machine.next(now: .zero) == .read(count: 50, block: .seconds(2)))
    }

    @Test func entriesWithTheSameIDInTwoPartitionsAreBothApplied() {
        // Ids are unique per stream only: two partitions routinely reuse one.
        var machine = Self.started()
        let a = Self.entry("a", 1, id: "1-0", partition: 0), b = Self.entry("b", 1, id: "1-0", partition: 1)
        machine.read([.entry(a), .entry(b)])
        #expect(machine.bufferedCount == 2)
        #expect(machine.next(now: .zero) == .apply([a, b]))
    }

    @Test func aFailingEntryHoldsBackOnlyItsOwnKey() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), b1 = Self.entry("b", 1, id: "2-0"), a2 = Self.entry("a", 2, id: "3-0")
        machine.read([.entry(a1), .entry(b1), .entry(a2)])
        #expect(machine.next(now: .zero) == .apply([a1, b1]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: false), .init(id: "2-0", key: "b", succeeded: true)], now: .zero)
        // b is acknowledged; a2 waits behind a1; the read's block ends when a1's retry is due.
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["2-0"]))
        machine.ioSucceeded()
        #expect(machine.next(now: .milliseconds(40)) == .read(count: 49, block: .milliseconds(60)))
        machine.read([])
        #expect(machine.next(now: .milliseconds(100)) == .redeliver(partition: 0, ids: ["1-0"]))
        machine.redelivered(partition: 0, requested: ["1-0"], returned: ["1-0"])
        #expect(machine.next(now: .milliseconds(101)) == .apply([Self.entry("a", 1, id: "1-0", deliveries: 2)]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: true)], now: .milliseconds(102))
        #expect(machine.next(now: .milliseconds(102)) == .apply([a2]))
    }

    @Test func aSlowApplyHoldsBackOnlyItsOwnKey() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), b1 = Self.entry("b", 1, id: "2-0"), b2 = Self.entry("b", 2, id: "3-0")
        machine.read([.entry(a1), .entry(b1)])
        #expect(machine.next(now: .zero) == .apply([a1, b1]))
        // b1 completes while a1 is still running: b's next write starts at once.
        machine.applied([.init(id: "2-0", key: "b", succeeded: true)], now: .zero)
        machine.read([.entry(b2)])
        #expect(machine.next(now: .zero) == .apply([b2]))
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["2-0"]))
        machine.ioSucceeded()
        // Reads block briefly while applies run, so their outcomes are acknowledged soon.
        // Two entries held of 100: room for 98, 49 per partition.
        #expect(machine.next(now: .zero) == .read(count: 49, block: .milliseconds(50)))
        #expect(machine.applyingCount == 2)
    }

    @Test func anEntryIsDeadLetteredAfterExactlyMaximumDeliveriesAndReleasesItsKey() {
        var machine = Self.started()
        let poison = Self.entry("a", 1, id: "1-0"), next = Self.entry("a", 2, id: "2-0")
        machine.read([.entry(poison), .entry(next)])
        var now = Duration.zero
        var applies = 0
        while true {
            let action = machine.next(now: now)
            switch action {
            case .apply(let entries):
                #expect(entries.map(\.id) == ["1-0"])
                applies += 1
                #expect(entries[0].deliveryCount == applies)
                machine.applied([.init(id: "1-0", key: "a", succeeded: false)], now: now)
            case .redeliver(_, let ids):
                machine.redelivered(partition: 0, requested: ids, returned: Set(ids))
            case .read:
                machine.read([])
                now += .milliseconds(100)
            case .deadLetter(let partition, let letters):
                #expect(partition == 0)
                #expect(letters.map(\.id) == ["1-0"])
                #expect(letters.first?.deliveries == 3)
                #expect(letters.first?.reason == .applyFailed)
                machine.ioSucceeded()
                #expect(applies == 3)
                #expect(machine.next(now: now) == .apply([next]))
                return
            default:
                Issue.record("unexpected \(action)")
                return
            }
        }
    }

    @Test func retryPausesDoubleUpToTheCap() {
        let machine = Machine(configuration: Self.configuration())
        #expect(machine.retryDelay(afterDelivery: 1) == .milliseconds(100))
        #expect(machine.retryDelay(afterDelivery: 2) == .milliseconds(200))
        #expect(machine.retryDelay(afterDelivery: 3) == .milliseconds(350))
        #expect(machine.retryDelay(afterDelivery: 9) == .milliseconds(350))
    }

    @Test func aTakenOverEntryDeliveredTooOftenIsDeadLetteredWithoutApplying() {
        var machine = Self.started()
        let crashedThrice = Self.entry("a", 1, id: "1-0", deliveries: 4)
        machine.claimed(partition: 0, [.entry(crashedThrice)], nextStart: "0-0")
        guard case .deadLetter(0, let letters) = machine.next(now: .zero) else {
            Issue.record("expected a dead letter")
            return
        }
        #expect(letters.map(\.id) == ["1-0"])
        #expect(letters.first?.deliveries == 4)
    }

    @Test func aMalformedEntryIsDeadLetteredAtOnce() {
        var machine = Self.started()
        let fields = [WriteBehindRawField(name: "k", value: Array("a".utf8))]
        machine.read([.malformed(id: "1-0", partition: 1, deliveryCount: 1, fields: fields)])
        #expect(
            machine.next(now: .zero)
                == .deadLetter(partition: 1, [.init(id: "1-0", fields: fields, reason: .malformed, deliveries: 1)]))
    }

    @Test func aTakenOverOlderEntryIsAppliedBeforeANewerOneOfTheSameKey() {
        var machine = Self.started()
        let newer = Self.entry("a", 2, id: "5-0"), older = Self.entry("a", 1, id: "3-0", deliveries: 2)
        machine.read([.entry(newer)])
        machine.claimed(partition: 0, [.entry(older)], nextStart: "0-0")
        #expect(machine.next(now: .zero) == .apply([older]))
        machine.applied([.init(id: "3-0", key: "a", succeeded: true)], now: .zero)
        #expect(machine.next(now: .zero) == .apply([newer]))
    }

    @Test func anEntryDeliveredAgainWhileHeldIsAppliedOnce() {
        var machine = Self.started()
        let entry = Self.entry("a", 1, id: "1-0")
        machine.read([.entry(entry)])
        machine.claimed(partition: 0, [.entry(Self.entry("a", 1, id: "1-0", deliveries: 2))], nextStart: "0-0")
        #expect(machine.next(now: .zero) == .apply([Self.entry("a", 1, id: "1-0", deliveries: 2)]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: true)], now: .zero)
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["1-0"]))
    }

    @Test func aRetryAnotherWorkerTookOverIsForgottenAndTheKeyMovesOn() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), a2 = Self.entry("a", 2, id: "2-0")
        machine.read([.entry(a1), .entry(a2)])
        #expect(machine.next(now: .zero) == .apply([a1]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: false)], now: .zero)
        #expect(machine.next(now: .milliseconds(100)) == .redeliver(partition: 0, ids: ["1-0"]))
        machine.redelivered(partition: 0, requested: ["1-0"], returned: [])
        #expect(machine.next(now: .milliseconds(100)) == .apply([a2]))
        #expect(machine.bufferedCount == 1)
    }

    @Test func heldEntriesAreRefreshedByHeartbeatsAndThoseTakenOverAreForgotten() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), b1 = Self.entry("b", 1, id: "2-0"), a2 = Self.entry("a", 2, id: "3-0")
        machine.read([.entry(a1), .entry(b1), .entry(a2)])
        #expect(machine.next(now: .zero) == .apply([a1, b1]))
        #expect(machine.next(now: .seconds(20)) == .heartbeat(partition: 0, ids: ["1-0", "2-0", "3-0"]))
        // Only a1 is still ours: b1 is being applied (its outcome settles it), a2 is forgotten.
        machine.heartbeatCompleted(partition: 0, requested: ["1-0", "2-0", "3-0"], owned: ["1-0"])
        #expect(machine.bufferedCount == 2)
        machine.applied([.init(id: "1-0", key: "a", succeeded: true), .init(id: "2-0", key: "b", succeeded: true)], now: .seconds(20))
        #expect(machine.next(now: .seconds(20)) == .acknowledge(partition: 0, ids: ["1-0", "2-0"]))
        #expect(machine.bufferedCount == 0)
    }

    @Test func aRetryingEntryTakenOverReleasesItsKeyAtTheHeartbeat() {
        var machine = Self.started(Self.configuration(partitions: 1))
        let a1 = Self.entry("a", 1, id: "1-0"), a2 = Self.entry("a", 2, id: "2-0")
        machine.read([.entry(a1), .entry(a2)])
        #expect(machine.next(now: .seconds(19)) == .apply([a1]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: false)], now: .seconds(19))
        machine.read([])
        #expect(machine.next(now: .seconds(20)) == .heartbeat(partition: 0, ids: ["1-0", "2-0"]))
        machine.heartbeatCompleted(partition: 0, requested: ["1-0", "2-0"], owned: ["2-0"])
        #expect(machine.next(now: .seconds(20)) == .apply([a2]))
    }

    @Test func stopsReadingWhileTheBufferIsFull() {
        var machine = Self.started(Self.configuration(maximumBuffered: 2, concurrent: 1))
        machine.read([.entry(Self.entry("a", 1, id: "1-0")), .entry(Self.entry("b", 1, id: "2-0"))])
        #expect(machine.next(now: .zero) == .apply([Self.entry("a", 1, id: "1-0")]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: false)], now: .zero)
        #expect(machine.next(now: .zero) == .apply([Self.entry("b", 1, id: "2-0")]))
        machine.applied([.init(id: "2-0", key: "b", succeeded: false)], now: .zero)
        // Both wait for a retry: no read, only a wait until the first retry is due.
        #expect(machine.next(now: .milliseconds(30)) == .wait(.milliseconds(70)))
    }

    @Test func failedIOPausesWithADoublingCappedBackoff() {
        var machine = Self.started()
        #expect(machine.next(now: .zero) == .read(count: 50, block: .seconds(2)))
        machine.ioFailed(now: .zero)
        #expect(machine.next(now: .milliseconds(10)) == .wait(.milliseconds(40)))
        #expect(machine.next(now: .milliseconds(50)) == .read(count: 50, block: .seconds(2)))
        machine.ioFailed(now: .milliseconds(50))
        #expect(machine.next(now: .milliseconds(50)) == .wait(.milliseconds(100)))
        machine.ioFailed(now: .milliseconds(150))
        machine.ioFailed(now: .milliseconds(150))
        machine.ioFailed(now: .milliseconds(150))
        #expect(machine.next(now: .milliseconds(150)) == .wait(.milliseconds(400)))
        machine.read([])
        #expect(machine.next(now: .milliseconds(150)) == .read(count: 50, block: .seconds(2)))
    }

    @Test func aFailedAcknowledgementIsSentAgainAfterThePause() {
        var machine = Self.started()
        machine.read([.entry(Self.entry("a", 1, id: "1-0"))])
        _ = machine.next(now: .zero)
        machine.applied([.init(id: "1-0", key: "a", succeeded: true)], now: .zero)
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["1-0"]))
        machine.acknowledgeFailed(partition: 0, ids: ["1-0"], now: .zero)
        #expect(machine.next(now: .milliseconds(10)) == .wait(.milliseconds(40)))
        #expect(machine.next(now: .milliseconds(50)) == .acknowledge(partition: 0, ids: ["1-0"]))
    }

    @Test func aMissingGroupIsCreatedAgainBeforeTheNextRead() {
        var machine = Self.started()
        #expect(machine.next(now: .zero) == .read(count: 50, block: .seconds(2)))
        machine.groupMissing(now: .zero)
        #expect(machine.next(now: .milliseconds(50)) == .createGroups)
        machine.groupsCreated()
        #expect(machine.next(now: .milliseconds(50)) == .read(count: 50, block: .seconds(2)))
    }

    @Test func theClaimSweepPagesThroughEachPartitionAndRepeatsOnSchedule() {
        var machine = Self.started()
        #expect(machine.next(now: .seconds(10)) == .sampleBacklog)
        machine.ioSucceeded()
        #expect(machine.next(now: .seconds(10)) == .claimAbandoned(partition: 0, start: "0-0"))
        machine.claimed(partition: 0, [], nextStart: "7-0")
        #expect(machine.next(now: .seconds(10)) == .claimAbandoned(partition: 0, start: "7-0"))
        machine.claimed(partition: 0, [], nextStart: "0-0")
        #expect(machine.next(now: .seconds(10)) == .claimAbandoned(partition: 1, start: "0-0"))
        machine.claimed(partition: 1, [], nextStart: "0-0")
        #expect(machine.next(now: .seconds(10)) == .read(count: 50, block: .seconds(2)))
    }

    @Test func gracefulShutdownAppliesWhatIsHeldAcknowledgesAndFinishes() {
        var machine = Self.started()
        let a1 = Self.entry("a", 1, id: "1-0"), b1 = Self.entry("b", 1, id: "2-0")
        machine.read([.entry(a1), .entry(b1)])
        machine.shutdownRequested()
        #expect(machine.next(now: .zero) == .apply([a1, b1]))
        machine.applied([.init(id: "1-0", key: "a", succeeded: true), .init(id: "2-0", key: "b", succeeded: false)], now: .zero)
        #expect(machine.next(now: .zero) == .acknowledge(partition: 0, ids: ["1-0"]))
        machine.ioSucceeded()
        // b's retry is left for another worker: no redelivery, no read.
        #expect(machine.next(now: .seconds(1)) == .finish)
    }
}
