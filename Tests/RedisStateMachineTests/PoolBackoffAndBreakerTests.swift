import NIOCore
import Testing

@testable import Redis

/// Connect failures: exponential backoff with jitter, fail-fast while no connection exists,
/// reconnecting after a connection closes, and the circuit breaker.
@Suite("Pool state machine: connect failures, backoff, circuit breaker")
struct PoolBackoffAndBreakerTests {
    private let later = ms(600_000)

    // MARK: Connect failures and backoff

    @Test func connectFailureWithNoConnectionUpFailsEveryWaiter() {
        var pool = makePool()
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: nil))

        #expect(pool.connectFailed(0, now: ms(10), jitter: 1) == [.fail(1, .connectionFailed), .fail(2, .connectionFailed)])
        #expect(pool.breaker == .closed)
        #expect(pool.consecutiveFailures == 1)
        #expect(pool.openCount == 0)
        // A second report for the same attempt changes nothing.
        #expect(pool.connectFailed(0, now: ms(10), jitter: 1) == [])
        #expect(pool.consecutiveFailures == 1)
    }

    @Test func leasesFailFastWhileNoConnectionExistsAndTheBackoffRuns() {
        var pool = makePool(initialBackoff: .milliseconds(100))
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.connectFailed(0, now: ms(0), jitter: 1) == [.fail(1, .connectionFailed)])

        #expect(pool.lease(waiter: 2, deadline: later, now: ms(99)) == .fail(.connectionFailed))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(100)) == .wait(connect: 1))
    }

    @Test func anOpenBreakerStillLetsCallersWaitForAHealthyBusyConnection() {
        var pool = makePool(maximum: 2, inFlight: 1, breakerThreshold: 1)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.connected(0, now: ms(1)) == [.handOver(1, 0)])
        // The healthy connection is at its cap; growing fails and opens the breaker.
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(2)) == .wait(connect: 1))
        #expect(pool.connectFailed(1, now: ms(3), jitter: 1) == [])
        #expect(pool.breaker != .closed)
        // A caller still waits for the busy connection rather than failing with circuitOpen.
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(4)) == .wait(connect: nil))
        #expect(pool.release(0, now: ms(5)) == .handOver(2, 0))
    }

    @Test func backoffDoublesPerConsecutiveFailureAndCapsAtTheMaximum() {
        var pool = makePool(
            minimum: 1, initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1), breakerThreshold: 100
        )
        var now = ms(0)
        for (attempt, delay) in [100, 200, 400, 800, 1_000, 1_000].enumerated() {
            #expect(pool.tick(now: now) == [.connect(attempt)])
            #expect(pool.connectFailed(attempt, now: now, jitter: 1) == [])
            // Maintenance respects the backoff, then tries again.
            #expect(pool.tick(now: now + .milliseconds(Int64(delay) - 1)) == [], "attempt \(attempt)")
            now = now + .milliseconds(Int64(delay))
        }
        #expect(pool.tick(now: now) == [.connect(6)])
    }

    @Test(arguments: [(0.0, 50), (0.5, 75), (1.0, 100), (-1.0, 50), (2.0, 100)] as [(Double, Int64)])
    func jitterScalesTheDelayFromHalfToAllOfIt(jitter: Double, delayMilliseconds: Int64) {
        var pool = makePool(minimum: 1, initialBackoff: .milliseconds(100))
        #expect(pool.tick(now: ms(0)) == [.connect(0)])
        #expect(pool.connectFailed(0, now: ms(0), jitter: jitter) == [])

        #expect(pool.tick(now: ms(delayMilliseconds - 1)) == [])
        #expect(pool.tick(now: ms(delayMilliseconds)) == [.connect(1)])
    }

    @Test func backoffStaysAtTheMaximumAfterManyFailuresWithLongBackoffs() throws {
        // initialBackoff << 30 no longer fits in Int64 nanoseconds once it reaches ~8.6s.
        var pool = makePool(
            minimum: 1, initialBackoff: .seconds(10), maximumBackoff: .seconds(60), breakerThreshold: 1_000
        )
        var now = ms(0)
        for attempt in 0..<40 {
            let delay: Int64 = min(60_000, 10_000 << min(attempt, 20))
            try #require(pool.tick(now: now) == [.connect(attempt)])
            try #require(pool.connectFailed(attempt, now: now, jitter: 1) == [])
            try #require(pool.tick(now: now + .milliseconds(delay - 1)) == [], "attempt \(attempt) backed off too little")
            now = now + .milliseconds(delay)
        }
    }

    @Test func successfulConnectResetsTheBackoff() {
        var pool = makePool(minimum: 1, initialBackoff: .milliseconds(100))
        #expect(pool.tick(now: ms(0)) == [.connect(0)])
        #expect(pool.connectFailed(0, now: ms(0), jitter: 1) == [])
        #expect(pool.tick(now: ms(100)) == [.connect(1)])
        #expect(pool.connectFailed(1, now: ms(100), jitter: 1) == [])
        #expect(pool.tick(now: ms(300)) == [.connect(2)])
        #expect(pool.connected(2, now: ms(300)) == [])
        #expect(pool.consecutiveFailures == 0)

        #expect(pool.connectionClosed(2, now: ms(400)) == .connect(3))
        #expect(pool.connectFailed(3, now: ms(400), jitter: 1) == [])
        #expect(pool.tick(now: ms(499)) == [])
        #expect(pool.tick(now: ms(500)) == [.connect(4)])
    }

    @Test func connectFailureWhileAnotherConnectionIsUpLeavesWaitersQueued() {
        var pool = makePool(minimum: 1, maximum: 2, inFlight: 1)
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: 1))

        #expect(pool.connectFailed(1, now: ms(0), jitter: 1) == [])
        // Backing off, but a connection exists: wait for it rather than fail.
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(5)) == .wait(connect: nil))
        #expect(pool.release(0, now: ms(10)) == .handOver(2, 0))
        #expect(pool.release(0, now: ms(20)) == .handOver(3, 0))
    }

    @Test func reconnectForWaitersRespectsTheBackoff() {
        var pool = makePool(maximum: 2, inFlight: 1, initialBackoff: .milliseconds(100))
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.connected(0, now: ms(0)) == [.handOver(1, 0)])
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: 1))
        #expect(pool.connectFailed(1, now: ms(0), jitter: 1) == [])

        // The only connection drops while the pool is backing off: no reconnect yet.
        #expect(pool.connectionClosed(0, now: ms(10)) == nil)
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(50)) == .fail(.connectionFailed))
        #expect(pool.tick(now: ms(99)) == [])
        #expect(pool.tick(now: ms(100)) == [.connect(2)])
        #expect(pool.connected(2, now: ms(110)) == [.handOver(2, 2)])
    }

    // MARK: Connections closing

    @Test func connectionClosedBelowTheMinimumReconnects() {
        var pool = makePool(minimum: 1)
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.connectionClosed(0, now: ms(10)) == .connect(1))
        #expect(pool.connectionClosed(0, now: ms(10)) == nil)
    }

    @Test func connectionClosedAtTheMinimumReconnectsOnlyForWaiters() {
        var pool = makePool(minimum: 0, maximum: 1, inFlight: 1)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.connected(0, now: ms(0)) == [.handOver(1, 0)])
        #expect(pool.release(0, now: ms(10)) == nil)
        #expect(pool.connectionClosed(0, now: ms(20)) == nil)
        #expect(pool.openCount == 0)

        #expect(pool.lease(waiter: 2, deadline: later, now: ms(30)) == .wait(connect: 1))
        #expect(pool.connected(1, now: ms(30)) == [.handOver(2, 1)])
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(40)) == .wait(connect: nil))
        #expect(pool.connectionClosed(1, now: ms(50)) == .connect(2))
        // The caller that held the broken connection gives it back: nothing to do.
        #expect(pool.release(1, now: ms(60)) == nil)
        #expect(pool.connected(2, now: ms(70)) == [.handOver(3, 2)])
    }

    // MARK: Circuit breaker

    /// Three failed connects, 10ms and 20ms apart: the third opens the breaker until 5.03s.
    private func openBreaker(minimum: Int = 0) -> PoolMachine {
        var pool = makePool(
            minimum: minimum, initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(40),
            breakerThreshold: 3, breakerOpen: .seconds(5)
        )
        for (attempt, at) in ([0, 10, 30] as [Int64]).enumerated() {
            if minimum > 0 {
                #expect(pool.tick(now: ms(at)) == [.connect(attempt)])
            } else {
                #expect(pool.lease(waiter: UInt64(attempt), deadline: later, now: ms(at)) == .wait(connect: attempt))
            }
            let code: RedisError.Code = attempt < 2 ? .connectionFailed : .circuitOpen
            let failed: [PoolMachine.Action] = minimum > 0 ? [] : [.fail(UInt64(attempt), code)]
            #expect(pool.connectFailed(attempt, now: ms(at), jitter: 1) == failed)
            #expect(pool.breaker == (attempt < 2 ? .closed : .open(until: ms(5_030))))
        }
        return pool
    }

    @Test func breakerOpensAfterTheThresholdAndFailsLeasesFast() {
        var pool = openBreaker()
        #expect(pool.consecutiveFailures == 3)
        // The 40ms backoff is long over; the breaker alone refuses.
        #expect(pool.lease(waiter: 10, deadline: later, now: ms(100)) == .fail(.circuitOpen))
        #expect(pool.lease(waiter: 11, deadline: later, now: ms(5_029)) == .fail(.circuitOpen))
        #expect(pool.tick(now: ms(5_029)) == [])
    }

    @Test func halfOpenBreakerLetsOneProbeThroughAndFailsOtherLeasesFast() {
        var pool = openBreaker()
        #expect(pool.lease(waiter: 10, deadline: later, now: ms(5_030)) == .wait(connect: 3))
        #expect(pool.breaker == .halfOpen)
        #expect(pool.lease(waiter: 11, deadline: later, now: ms(5_040)) == .fail(.circuitOpen))
        #expect(pool.tick(now: ms(5_050)) == [])
    }

    @Test func failedProbeReopensTheBreaker() {
        var pool = openBreaker()
        #expect(pool.lease(waiter: 10, deadline: later, now: ms(5_030)) == .wait(connect: 3))

        #expect(pool.connectFailed(3, now: ms(5_100), jitter: 1) == [.fail(10, .circuitOpen)])
        #expect(pool.breaker == .open(until: ms(10_100)))
        #expect(pool.lease(waiter: 11, deadline: later, now: ms(10_099)) == .fail(.circuitOpen))
        #expect(pool.lease(waiter: 12, deadline: later, now: ms(10_100)) == .wait(connect: 4))
        #expect(pool.breaker == .halfOpen)
    }

    @Test func successfulProbeClosesTheBreaker() {
        var pool = openBreaker()
        #expect(pool.lease(waiter: 10, deadline: later, now: ms(5_030)) == .wait(connect: 3))

        #expect(pool.connected(3, now: ms(5_100)) == [.handOver(10, 3)])
        #expect(pool.breaker == .closed)
        #expect(pool.consecutiveFailures == 0)
        #expect(pool.lease(waiter: 11, deadline: later, now: ms(5_110)) == .use(3))
    }

    @Test func maintenanceSendsTheProbeWhenTheMinimumIsNotMet() {
        var pool = openBreaker(minimum: 1)
        #expect(pool.tick(now: ms(5_029)) == [])
        #expect(pool.tick(now: ms(5_030)) == [.connect(3)])
        #expect(pool.breaker == .halfOpen)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(5_040)) == .fail(.circuitOpen))

        #expect(pool.connected(3, now: ms(5_050)) == [])
        #expect(pool.breaker == .closed)
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(5_060)) == .use(3))
    }
}
