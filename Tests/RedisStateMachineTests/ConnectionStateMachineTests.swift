import NIOCore
import RESP
import Testing

@testable import Redis

/// Queueing, auto-pipelining, reply matching, draining and closing. Deadlines and cancellation are
/// in `ConnectionStateMachineDeadlineTests`.
@Suite("Connection state machine: pipelining, replies, drain, close")
struct ConnectionStateMachineTests {
    private func makeMachine() -> ConnectionMachine {
        ConnectionMachine(allocator: ByteBufferAllocator(), abandonedReplyTimeout: .seconds(2))
    }

    // MARK: Auto-pipelining

    @Test func takeOutboundOnAFreshConnectionHasNothingToWrite() {
        var machine = makeMachine()
        #expect(machine.flushed() == nil)
        #expect(machine.owedCount == 0)
    }

    @Test func commandsQueuedBeforeAFlushGoOutInOneWrite() async {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()

        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))
        #expect(machine.send(2, deadline: ms(2_000), from: b) == .none)
        #expect(machine.send(3, deadline: ms(3_000), from: c) == .none)
        #expect(machine.flushed() == getCommand(1) + getCommand(2) + getCommand(3))
        #expect(machine.flushed() == nil)
        #expect(machine.owedCount == 3)

        #expect(machine.close(.connectionClosed) == Array(repeating: .failReply(.connectionClosed), count: 3))
    }

    @Test func commandAfterTakeOutboundSchedulesAnotherFlush() async {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()

        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))
        #expect(machine.flushed() == getCommand(1))
        // A later deadline needs no timer of its own: the armed one fires first and rearms.
        #expect(machine.send(2, deadline: ms(5_000), from: b) == .scheduleFlush(armTimer: nil))
        #expect(machine.flushed() == getCommand(2))

        #expect(machine.close(.connectionClosed).count == 2)
    }

    @Test func emptyTakeOutboundStillReopensTheFlushWindow() async {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()

        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))
        #expect(machine.flushed() == getCommand(1))
        #expect(machine.flushed() == nil)
        #expect(machine.send(2, deadline: ms(1_000), from: b) == .scheduleFlush(armTimer: nil))

        #expect(machine.close(.connectionClosed).count == 2)
    }

    @Test func earlierDeadlineQueuedBeforeTheFlushOnlyArmsATimer() async {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()

        #expect(machine.send(1, deadline: ms(10_000), from: a) == .scheduleFlush(armTimer: ms(10_000)))
        #expect(machine.send(2, deadline: ms(4_000), from: b) == .armTimer(ms(4_000)))
        #expect(machine.send(3, deadline: ms(4_000), from: c) == .none)
        #expect(machine.flushed() == getCommand(1) + getCommand(2) + getCommand(3))

        #expect(machine.close(.connectionClosed).count == 3)
    }

    // MARK: Replies

    @Test func repliesAreMatchedToRequestsInOrder() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let c = await Caller.single()
        let one = try token(":1\r\n")
        let two = try token("$3\r\ntwo\r\n")
        let three = try token("_\r\n")
        _ = machine.send(1, deadline: ms(1_000), from: a)
        _ = machine.send(2, deadline: ms(1_000), from: b)
        _ = machine.send(3, deadline: ms(1_000), from: c)

        #expect(machine.receive(one) == (.delivered, [.reply(one)]))
        #expect(machine.receive(two) == (.delivered, [.reply(two)]))
        #expect(machine.receive(three) == (.delivered, [.reply(three)]))
        #expect(machine.owedCount == 0)

        #expect(await a.outcome == .reply(one))
        #expect(await b.outcome == .reply(two))
        #expect(await c.outcome == .reply(three))
    }

    @Test func serverErrorReplyIsDeliveredToItsCallerLikeAnyReply() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let error = try token("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        _ = machine.send(1, deadline: ms(1_000), from: a)

        #expect(machine.receive(error) == (.delivered, [.reply(error)]))
        #expect(await a.outcome == .reply(error))
    }

    @Test func batchCollectsExactlyItsReplyCountThenTheNextRequestIsServed() async throws {
        var machine = makeMachine()
        let before = await Caller.single()
        let batch = await Caller.batch()
        let after = await Caller.single()
        let r = try (0...4).map { try token("+r\($0)\r\n") }
        _ = machine.send(1, deadline: ms(1_000), from: before)
        _ = machine.send(2, replies: 3, deadline: ms(1_000), from: batch)
        _ = machine.send(3, deadline: ms(1_000), from: after)
        #expect(machine.flushed() == getCommand(1) + getCommand(2) + getCommand(2) + getCommand(2) + getCommand(3))

        #expect(machine.receive(r[0]) == (.delivered, [.reply(r[0])]))
        #expect(machine.receive(r[1]) == (.delivered, []))
        #expect(machine.receive(r[2]) == (.delivered, []))
        #expect(machine.owedCount == 2)
        #expect(machine.receive(r[3]) == (.delivered, [.batch([r[1], r[2], r[3]])]))
        #expect(machine.owedCount == 1)
        #expect(machine.receive(r[4]) == (.delivered, [.reply(r[4])]))

        #expect(await before.outcome == .reply(r[0]))
        #expect(await batch.outcome == .batch([r[1], r[2], r[3]]))
        #expect(await after.outcome == .reply(r[4]))
    }

    @Test func replyWithNothingOwedIsUnexpected() async throws {
        var machine = makeMachine()
        let ok = try token("+OK\r\n")
        #expect(machine.receive(ok) == (.unexpected, []))

        let a = await Caller.single()
        _ = machine.send(1, deadline: ms(1_000), from: a)
        #expect(machine.receive(ok) == (.delivered, [.reply(ok)]))
        #expect(machine.receive(ok) == (.unexpected, []))
        #expect(await a.outcome == .reply(ok))
    }

    // MARK: Draining

    @Test func drainingWithNothingOwedClosesAtOnceAndRefusesRequests() async {
        var machine = makeMachine()
        let a = await Caller.single()

        #expect(machine.startDraining() == true)
        #expect(machine.send(1, deadline: ms(1_000), from: a) == .fail(.shutdown))
        #expect(machine.owedCount == 0)
        #expect(machine.flushed() == nil)

        a.refuse(RedisError(.shutdown))
        #expect(await a.outcome == .failed(.shutdown))
    }

    @Test func drainingRefusesNewRequestsAndReportsDrainedOnTheLastReply() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        let late = await Caller.single()
        let one = try token("+1\r\n")
        let two = try token("+2\r\n")
        _ = machine.send(1, deadline: ms(1_000), from: a)
        _ = machine.send(2, deadline: ms(1_000), from: b)

        #expect(machine.startDraining() == false)
        #expect(machine.send(3, deadline: ms(1_000), from: late) == .fail(.shutdown))
        #expect(machine.flushed() == getCommand(1) + getCommand(2))
        #expect(machine.receive(one) == (.delivered, [.reply(one)]))
        #expect(machine.receive(two) == (.drained, [.reply(two)]))

        late.refuse(RedisError(.shutdown))
        #expect(await a.outcome == .reply(one))
        #expect(await b.outcome == .reply(two))
        #expect(await late.outcome == .failed(.shutdown))
    }

    @Test func drainingWaitsForTheRepliesOfAbandonedRequests() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        _ = machine.send(1, deadline: ms(1_000), from: a)
        #expect(machine.cancel(1, now: ms(100)) == (.failReply(.cancelled), armTimer: nil))

        #expect(machine.startDraining() == false)
        #expect(machine.receive(try token("+late\r\n")) == (.drained, []))
        #expect(await a.outcome == .failed(.cancelled))
    }

    // MARK: Closing

    @Test func closingFailsEveryCallerStillWaitingButNotAbandonedOnes() async throws {
        var machine = makeMachine()
        let single = await Caller.single()
        let batch = await Caller.batch()
        let cancelled = await Caller.single()
        let one = try token("+1\r\n")
        let half = try token("+half\r\n")
        _ = machine.send(1, deadline: ms(1_000), from: single)
        _ = machine.send(2, replies: 2, deadline: ms(1_000), from: batch)
        _ = machine.send(3, deadline: ms(1_000), from: cancelled)
        #expect(machine.receive(one) == (.delivered, [.reply(one)]))
        #expect(machine.receive(half) == (.delivered, []))
        #expect(machine.cancel(3, now: ms(10)).0 == .failReply(.cancelled))

        // `single` was answered; the half-filled batch fails; the cancelled caller was already answered.
        #expect(machine.close(.connectionClosed) == [.failBatch(.connectionClosed)])
        #expect(machine.owedCount == 0)
        #expect(await single.outcome == .reply(one))
        #expect(await batch.outcome == .failed(.connectionClosed))
        #expect(await cancelled.outcome == .failed(.cancelled))
    }

    @Test func afterCloseTheMachineRefusesAndIgnoresEverything() async throws {
        var machine = makeMachine()
        let a = await Caller.single()
        let b = await Caller.single()
        #expect(machine.send(1, deadline: ms(1_000), from: a) == .scheduleFlush(armTimer: ms(1_000)))

        // Closed before the flush ran: the queued bytes are dropped with the request.
        #expect(machine.close(.protocolError) == [.failReply(.protocolError)])
        #expect(machine.flushed() == nil)
        #expect(machine.closedError?.code == .protocolError)
        // New requests fail with the error that closed the connection.
        #expect(machine.send(2, deadline: ms(1_000), from: b) == .fail(.protocolError))
        #expect(machine.receive(try token("+OK\r\n")) == (.unexpected, []))
        #expect(machine.fire(ms(1_000), now: ms(1_000)) == (.rearm(nil), []))
        #expect(machine.cancel(1, now: ms(1_000)) == (nil, armTimer: nil))
        // A second close keeps the first error and fails nobody twice.
        #expect(machine.close(.connectionClosed) == [])
        #expect(machine.closedError?.code == .protocolError)
        #expect(machine.startDraining() == true)

        b.refuse(RedisError(.protocolError))
        #expect(await a.outcome == .failed(.protocolError))
        #expect(await b.outcome == .failed(.protocolError))
    }
}
