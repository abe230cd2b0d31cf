import NIOCore
import RESP
import Testing

@testable import Redis

/// Per-request deadlines, the timer the shell arms for them, cancellation (abandoned requests
/// keep their slot so their late reply is discarded) and the abandoned-reply timeout.
@Suite("Connection state machine: deadlines, cancellation, broken connections")
struct ConnectionStateMachineDeadlineTests {
    private func makeMachine(abandonedReplyTimeout: TimeAmount = .seconds(2)) -> ConnectionMachine {
        ConnectionMachine(allocator: ByteBufferAllocator(), abandonedReplyTimeout: abandonedReplyTimeout)
    }

    // MARK: Deadlines

    @Test func overdueRequestFailsWithTimeoutAndItsLateReplyIsDiscarded() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let late = try token("+late-for-a\r\n")
        let forB = try token("+for-b\r\n")
        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))
        #expect(machine.send(2, deadline: ms(5_000), from: b) == .none)

        // a is answered with a timeout; its slot now waits for the late reply until 1s + 2s.
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(3_000)), [.failReply(.timeout)]))
        #expect(await a.outcome == .failed(.timeout))
        #expect(machine.owedCount == 2)

        #expect(machine.receive(late) == (.delivered, []))
        #expect(machine.receive(forB) == (.delivered, [.reply(forB)]))
        #expect(await b.outcome == .reply(forB))
        // The broken-connection check finds nothing owed.
        #expect(machine.fire(ms(3_000), now: ms(3_000)) == (.rearm(nil), []))
    }

    @Test func overdueBatchFailsWholeAndItsRemainingRepliesAreDiscarded() async throws {
        var machine = makeMachine()
        let batch = await Caller.batch()
        let next = await Caller.single()
        let r = try (1...4).map { try token("+r\($0)\r\n") }
        _ = machine.send(1, replies: 3, deadline: ms(1_000), from: batch)
        _ = machine.send(2, deadline: ms(9_000), from: next)

        #expect(machine.receive(r[0]) == (.delivered, []))
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(3_000)), [.failBatch(.timeout)]))
        #expect(await batch.outcome == .failed(.timeout))
        #expect(machine.receive(r[1]) == (.delivered, []))
        #expect(machine.receive(r[2]) == (.delivered, []))
        #expect(machine.receive(r[3]) == (.delivered, [.reply(r[3])]))
        #expect(await next.outcome == .reply(r[3]))
    }

    @Test func timerRearmsForTheEarliestLiveDeadline() async throws {
        var machine = makeMachine(abandonedReplyTimeout: .seconds(30))
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()
        let ok = try token("+OK\r\n")
        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))
        #expect(machine.send(2, deadline: ms(9_000), from: b) == .none)
        #expect(machine.send(3, deadline: ms(4_000), from: c) == .none)
        #expect(machine.receive(ok) == (.delivered, [.reply(ok)]))

        // a is answered; of b (9s) and c (4s), c's deadline comes first even though it was queued last.
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(4_000)), []))
        // c expires; its abandoned slot (4s + 30s) is later than b's deadline.
        #expect(machine.fire(ms(4_000), now: ms(4_000)) == (.rearm(ms(9_000)), [.failReply(.timeout)]))
        // b expires too. Only the oldest owed reply (b's, abandoned at 9s) can be judged missing:
        // c's cannot overtake it, so the broken-connection check is at 9s + 30s.
        #expect(machine.fire(ms(9_000), now: ms(9_000)) == (.rearm(ms(39_000)), [.failReply(.timeout)]))

        #expect(await a.outcome == .reply(ok))
        #expect(await b.outcome == .failed(.timeout))
        #expect(await c.outcome == .failed(.timeout))
    }

    @Test func timerLeftArmedForAnAnsweredRequestMovesOnToTheNextDeadline() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let ok = try token("+OK\r\n")
        #expect(machine.send(1, deadline: ms(3_000), from: a) == .scheduleFlush(armTimer: ms(3_000)))
        #expect(machine.flushed() == getCommand(1))
        #expect(machine.receive(ok) == (.delivered, [.reply(ok)]))
        // The 3s timer is still armed, so b's later deadline needs none of its own...
        #expect(machine.send(2, deadline: ms(8_000), from: b) == .scheduleFlush(armTimer: nil))
        // ...and when it fires it arms b's.
        #expect(machine.fire(ms(3_000), now: ms(3_000)) == (.rearm(ms(8_000)), []))

        #expect(machine.close(.connectionClosed) == [.failReply(.connectionClosed)])
        #expect(await b.outcome == .failed(.connectionClosed))
    }

    @Test func staleAndDuplicateTimerFiresAreHarmless() async throws {
        var machine = makeMachine(abandonedReplyTimeout: .seconds(30))
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()
        #expect(machine.send(1, deadline: ms(10_000), from: a) == .scheduleFlush(armTimer: ms(10_000)))
        #expect(machine.send(2, deadline: ms(5_000), from: b) == .armTimer(ms(5_000)))
        _ = machine.flushed()

        // b expires. The 10s timer armed first is still scheduled, and the machine asks for 10s again.
        #expect(machine.fire(ms(5_000), now: ms(5_000)) == (.rearm(ms(10_000)), [.failReply(.timeout)]))
        // a expires; as the oldest owed reply its broken-connection check is at 10s + 30s.
        #expect(machine.fire(ms(10_000), now: ms(10_000)) == (.rearm(ms(40_000)), [.failReply(.timeout)]))
        // The duplicate 10s timer: nothing new is due and 40s is already armed.
        #expect(machine.fire(ms(10_000), now: ms(10_000)) == (.rearm(nil), []))
        // A timer for a deadline that was never armed, firing late: still nothing.
        #expect(machine.fire(ms(2_000), now: ms(12_000)) == (.rearm(nil), []))
        #expect(machine.owedCount == 2)

        #expect(machine.receive(try token("+late-a\r\n")) == (.delivered, []))
        #expect(machine.receive(try token("+late-b\r\n")) == (.delivered, []))
        // Nothing owed: the timer disarms, and the next request arms a fresh one.
        #expect(machine.fire(ms(40_000), now: ms(40_000)) == (.rearm(nil), []))
        #expect(machine.send(3, deadline: ms(50_000), from: c) == .scheduleFlush(armTimer: ms(50_000)))

        #expect(await a.outcome == .failed(.timeout))
        #expect(await b.outcome == .failed(.timeout))
        #expect(machine.close(.connectionClosed) == [.failReply(.connectionClosed)])
        #expect(await c.outcome == .failed(.connectionClosed))
    }

    // MARK: Cancellation

    @Test func cancellingFailsOnlyThatCallerAndKeepsItsSlot() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        _ = machine.send(1, deadline: ms(10_000), from: a)
        _ = machine.send(2, deadline: ms(10_000), from: b)

        // Broken-connection check at 1s + 2s, earlier than the armed 10s timer.
        #expect(machine.cancel(1, now: ms(1_000)) == (.failReply(.cancelled), armTimer: ms(3_000)))
        #expect(await a.outcome == .failed(.cancelled))
        #expect(machine.owedCount == 2)

        #expect(machine.close(.connectionClosed) == [.failReply(.connectionClosed)])
        #expect(await b.outcome == .failed(.connectionClosed))
    }

    @Test func replyForACancelledRequestIsConsumedAndNotDeliveredToTheNext() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let forA = try token("+for-a\r\n")
        let forB = try token("+for-b\r\n")
        _ = machine.send(1, deadline: ms(10_000), from: a)
        _ = machine.send(2, deadline: ms(10_000), from: b)
        #expect(machine.cancel(1, now: ms(1_000)).0 == .failReply(.cancelled))

        #expect(machine.receive(forA) == (.delivered, []))
        #expect(machine.owedCount == 1)
        #expect(machine.receive(forB) == (.delivered, [.reply(forB)]))
        #expect(await a.outcome == .failed(.cancelled))
        #expect(await b.outcome == .reply(forB))
        // The reply came in time: the broken-connection check passes and rearms for nothing.
        #expect(machine.fire(ms(3_000), now: ms(3_000)) == (.rearm(nil), []))
    }

    @Test func cancelledBatchSwallowsItsRemainingReplies() async throws {
        var machine = makeMachine()
        let batch = await Caller.batch()
        let next = await Caller.single()
        let r = try (1...4).map { try token(":\($0)\r\n") }
        _ = machine.send(1, replies: 3, deadline: ms(10_000), from: batch)
        _ = machine.send(2, deadline: ms(10_000), from: next)

        #expect(machine.receive(r[0]) == (.delivered, []))
        #expect(machine.cancel(1, now: ms(1_000)) == (.failBatch(.cancelled), armTimer: ms(3_000)))
        #expect(machine.receive(r[1]) == (.delivered, []))
        #expect(machine.receive(r[2]) == (.delivered, []))
        #expect(machine.receive(r[3]) == (.delivered, [.reply(r[3])]))
        #expect(await batch.outcome == .failed(.cancelled))
        #expect(await next.outcome == .reply(r[3]))
    }

    @Test func cancellingAnUnknownAnsweredOrAlreadyFailedRequestDoesNothing() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()
        let ok = try token("+OK\r\n")
        _ = machine.send(1, deadline: ms(10_000), from: a)
        _ = machine.send(2, deadline: ms(10_000), from: b)
        _ = machine.send(3, deadline: ms(1_000), from: c)

        #expect(machine.cancel(99, now: ms(100)) == (nil, armTimer: nil))
        #expect(machine.receive(ok) == (.delivered, [.reply(ok)]))
        #expect(machine.cancel(1, now: ms(200)) == (nil, armTimer: nil))
        // The armed 1s timer comes first; it will find the 2.3s check.
        #expect(machine.cancel(2, now: ms(300)) == (.failReply(.cancelled), armTimer: nil))
        #expect(machine.cancel(2, now: ms(400)) == (nil, armTimer: nil))
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(2_300)), [.failReply(.timeout)]))
        #expect(machine.cancel(3, now: ms(1_100)) == (nil, armTimer: nil))

        #expect(await a.outcome == .reply(ok))
        #expect(await b.outcome == .failed(.cancelled))
        #expect(await c.outcome == .failed(.timeout))
    }

    @Test func cancelDoesNotArmATimerLaterThanTheArmedOne() async throws {
        var machine = makeMachine(abandonedReplyTimeout: .seconds(30))
        let a = await Caller.single()
        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))

        #expect(machine.cancel(1, now: ms(500)) == (.failReply(.cancelled), armTimer: nil))
        // The 1s timer then tracks the abandoned slot rather than the request's own deadline.
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(30_500)), []))
        #expect(await a.outcome == .failed(.cancelled))
    }

    // MARK: Broken connections

    @Test func cancelledRequestsReplyOverdueClosesTheConnection() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        _ = machine.send(1, deadline: ms(10_000), from: a)
        _ = machine.send(2, deadline: ms(10_000), from: b)
        #expect(machine.cancel(1, now: ms(1_000)) == (.failReply(.cancelled), armTimer: ms(3_000)))

        #expect(machine.fire(ms(3_000), now: ms(3_000)) == (.close(.connectionClosed), []))
        // The shell then closes the connection: b fails, not with a timeout.
        #expect(machine.close(.connectionClosed) == [.failReply(.connectionClosed)])
        #expect(await a.outcome == .failed(.cancelled))
        #expect(await b.outcome == .failed(.connectionClosed))
    }

    @Test func timedOutRequestsReplyOverdueClosesTheConnection() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        _ = machine.send(1, deadline: ms(1_000), from: a)

        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(3_000)), [.failReply(.timeout)]))
        #expect(machine.fire(ms(3_000), now: ms(2_999)) == (.rearm(ms(3_000)), []))
        #expect(machine.fire(ms(3_000), now: ms(3_000)) == (.close(.connectionClosed), []))
        #expect(machine.close(.connectionClosed) == [])
        #expect(await a.outcome == .failed(.timeout))
    }
}

@Suite("Connection state machine: judging a connection broken")
struct ConnectionBrokenJudgementTests {
    private func makeMachine(abandonedReplyTimeout: TimeAmount) -> ConnectionMachine {
        ConnectionMachine(allocator: ByteBufferAllocator(), abandonedReplyTimeout: abandonedReplyTimeout)
    }

    @Test func anAbandonedReplyBehindASlowLiveCommandDoesNotCloseTheConnection() async throws {
        var machine = makeMachine(abandonedReplyTimeout: .seconds(30))
        let slow = await Caller.single()
        let quick = await Caller.single()
        #expect(machine.send(1, deadline: ms(60_000), from: slow) == .scheduleFlush(armTimer: ms(60_000)))
        #expect(machine.send(2, deadline: ms(5_000), from: quick) == .armTimer(ms(5_000)))
        // quick times out behind slow; its reply cannot arrive before slow's.
        #expect(machine.fire(ms(5_000), now: ms(5_000)) == (.rearm(ms(60_000)), [.failReply(.timeout)]))
        // 35s later the connection is still healthy: slow has not reached its deadline.
        #expect(machine.fire(ms(40_000), now: ms(40_000)) == (.rearm(nil), []))
        let done = try token("+DONE\r\n")
        #expect(machine.receive(done) == (.delivered, [.reply(done)]))
        #expect(await slow.outcome == .reply(done))
        #expect(await quick.outcome == .failed(.timeout))
        #expect(machine.close(.connectionClosed) == [])
    }

    @Test func repliesStillArrivingPostponeTheBrokenJudgement() async throws {
        var machine = makeMachine(abandonedReplyTimeout: .seconds(30))
        let a = await Caller.single()
        let b = await Caller.single()
        _ = machine.send(1, deadline: ms(1_000), from: a)
        _ = machine.send(2, deadline: ms(1_000), from: b)
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(ms(31_000)), [.failReply(.timeout), .failReply(.timeout)]))
        // a's late reply arrives at 20s: the server is answering, so b gets 30s from then.
        machine.noteReplyProgress(at: ms(20_000))
        #expect(machine.receive(try token("+late\r\n")) == (.delivered, []))
        #expect(machine.fire(ms(31_000), now: ms(31_000)) == (.rearm(ms(50_000)), []))
        // b's reply is still missing 30s after the last reply: the connection is broken.
        #expect(machine.fire(ms(50_000), now: ms(50_000)) == (.close(.connectionClosed), []))
        _ = machine.close(.connectionClosed)
        #expect(await a.outcome == .failed(.timeout))
        #expect(await b.outcome == .failed(.timeout))
    }
}
