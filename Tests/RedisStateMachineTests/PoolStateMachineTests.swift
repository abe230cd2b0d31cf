import NIOCore
import Testing

@testable import Redis

/// Leasing, waiters, reconfiguration (`retireAll`) and shutdown. Connect failures, backoff and
/// the breaker are in `PoolBackoffAndBreakerTests`; idle close and keep-alive in `PoolMaintenanceTests`.
@Suite("Pool state machine: leases, waiters, retire, shutdown")
struct PoolStateMachineTests {
    private let later = ms(60_000)

    // MARK: Leasing

    @Test func leaseWithNoConnectionWaitsAndOpensOneThenGrowsWhenAllAreAtTheirCap() {
        var pool = makePool(maximum: 2, inFlight: 2)

        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        // One connect at a time.
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: nil))
        #expect(pool.openCount == 1)
        #expect(pool.connected(0, now: ms(10)) == [.handOver(1, 0), .handOver(2, 0)])
        #expect(pool.inUseCount == 1)

        // Connection 0 is at its in-flight cap: wait, and grow.
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(20)) == .wait(connect: 1))
        #expect(pool.connected(1, now: ms(30)) == [.handOver(3, 1)])
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(40)) == .use(1))
        // Everything at its cap and the pool at its maximum: wait without connecting.
        #expect(pool.lease(waiter: 5, deadline: later, now: ms(50)) == .wait(connect: nil))
        #expect(pool.release(0, now: ms(60)) == .handOver(5, 0))
        #expect(pool.openCount == 2)
    }

    @Test func connectedHandsOverNoMoreWaitersThanTheInFlightCap() {
        var pool = makePool(maximum: 1, inFlight: 2)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: nil))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(0)) == .wait(connect: nil))

        #expect(pool.connected(0, now: ms(10)) == [.handOver(1, 0), .handOver(2, 0)])
        #expect(pool.waiters.count == 1)
        #expect(pool.release(0, now: ms(20)) == .handOver(3, 0))
        #expect(pool.release(0, now: ms(30)) == nil)
        #expect(pool.release(0, now: ms(40)) == nil)
        #expect(pool.inUseCount == 0)
        #expect(pool.slots[0] == .ready(inFlight: 0, lastActive: ms(40)))
    }

    @Test func leasesRotateRoundRobinOverConnectionsWithAFreeSlot() {
        var pool = makePool(minimum: 3, maximum: 3, inFlight: 1)
        #expect(pool.startUp(at: ms(0)) == [0, 1, 2])

        #expect(pool.lease(waiter: 1, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(10)) == .use(1))
        #expect(pool.release(0, now: ms(20)) == nil)
        // The rotation goes on from where it was (2), then wraps to the freed 0, skipping busy 1.
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(30)) == .use(2))
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(30)) == .use(0))
        #expect(pool.inUseCount == 3)
        #expect(pool.lease(waiter: 5, deadline: later, now: ms(30)) == .wait(connect: nil))
    }

    @Test func releaseHandsTheSlotToTheOldestWaiterSkippingCancelledOnes() {
        var pool = makePool(minimum: 1, maximum: 1, inFlight: 1)
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(10)) == .wait(connect: nil))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(10)) == .wait(connect: nil))
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(10)) == .wait(connect: nil))

        #expect(pool.cancelWaiter(3) == true)
        #expect(pool.cancelWaiter(3) == false)
        #expect(pool.release(0, now: ms(20)) == .handOver(2, 0))
        // Already served: too late to cancel.
        #expect(pool.cancelWaiter(2) == false)
        #expect(pool.release(0, now: ms(30)) == .handOver(4, 0))
        #expect(pool.release(0, now: ms(40)) == nil)
        #expect(pool.inUseCount == 0)
        #expect(pool.lease(waiter: 5, deadline: later, now: ms(50)) == .use(0))
    }

    @Test func releaseOfAConnectionThatIsNotReadyIsIgnored() {
        var pool = makePool()
        #expect(pool.release(7, now: ms(0)) == nil)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.release(0, now: ms(5)) == nil)
        #expect(pool.connected(0, now: ms(10)) == [.handOver(1, 0)])
    }

    @Test func connectedForAnAttemptThePoolDoesNotKnowClosesIt() {
        var pool = makePool()
        #expect(pool.connected(9, now: ms(0)) == [.close(9)])
        #expect(pool.openCount == 0)
    }

    @Test func tickFailsOnlyOverdueWaitersWithTimeout() {
        var pool = makePool(maximum: 1)
        #expect(pool.lease(waiter: 1, deadline: ms(1_000), now: ms(0)) == .wait(connect: 0))
        #expect(pool.lease(waiter: 2, deadline: ms(2_000), now: ms(0)) == .wait(connect: nil))

        #expect(pool.tick(now: ms(999)) == [])
        #expect(pool.tick(now: ms(1_000)) == [.fail(1, .timeout)])
        #expect(pool.waiters.count == 1)
        #expect(pool.tick(now: ms(2_500)) == [.fail(2, .timeout)])
        #expect(pool.connected(0, now: ms(3_000)) == [])
    }

    // MARK: Reconfiguration

    @Test func retireAllClosesEveryIdleConnectionAndReopensTheMinimum() {
        var pool = makePool(minimum: 3, maximum: 4)
        #expect(pool.startUp(at: ms(0)) == [0, 1, 2])

        #expect(sameActions(pool.retireAll(now: ms(10)), [.close(0), .close(1), .close(2), .connect(3)]))
        #expect(pool.openCount == 1)
        #expect(pool.connected(3, now: ms(20)) == [])
        #expect(pool.tick(now: ms(30)) == [.connect(4)])
    }

    @Test func busyRetiringConnectionIsNotLeasedAndClosesOnItsLastReleaseInsteadOfHandingOver() {
        var pool = makePool(minimum: 1, maximum: 4, inFlight: 2)
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(10)) == .use(0))

        // 0 keeps serving its two callers; a replacement opens for the minimum.
        #expect(pool.retireAll(now: ms(20)) == [.connect(1)])
        #expect(pool.release(0, now: ms(30)) == nil)
        // 0 has a free slot but is retiring: the caller waits for the new connection.
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(40)) == .wait(connect: nil))
        #expect(pool.release(0, now: ms(50)) == .close(0))
        #expect(pool.openCount == 1)
        #expect(pool.connected(1, now: ms(60)) == [.handOver(3, 1)])
    }

    @Test func connectInFlightDuringReconfigurationIsClosedWhenItCompletes() {
        var pool = makePool(minimum: 1)
        #expect(pool.tick(now: ms(0)) == [.connect(0)])

        // Made with the old settings; one connect at a time, so the replacement waits.
        #expect(pool.retireAll(now: ms(5)) == [])
        #expect(pool.connected(0, now: ms(10)) == [.close(0)])
        #expect(pool.openCount == 0)
        #expect(pool.tick(now: ms(20)) == [.connect(1)])
        #expect(pool.connected(1, now: ms(30)) == [])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(40)) == .use(1))
    }

    // MARK: Shutdown

    @Test func shutdownFailsEveryWaiterAndRefusesNewLeases() {
        var pool = makePool(maximum: 1)
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: nil))

        #expect(pool.shutdown() == [.fail(1, .shutdown), .fail(2, .shutdown)])
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(10)) == .fail(.shutdown))
        // The connect in flight still has to finish.
        #expect(pool.isShutDown == false)
        #expect(pool.connected(0, now: ms(20)) == [.close(0)])
        #expect(pool.isShutDown)
    }

    @Test func shutdownClosesIdleConnectionsAtOnceAndBusyOnesWhenDrained() {
        var pool = makePool(minimum: 3, maximum: 3, inFlight: 2)
        #expect(pool.startUp(at: ms(0)) == [0, 1, 2])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(10)) == .use(1))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(10)) == .use(2))
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.release(2, now: ms(20)) == nil)

        #expect(pool.shutdown() == [.close(2)])
        #expect(pool.release(1, now: ms(30)) == .close(1))
        #expect(pool.release(0, now: ms(40)) == nil)
        #expect(pool.isShutDown == false)
        #expect(pool.release(0, now: ms(50)) == .close(0))
        #expect(pool.isShutDown)
        // No reconnect to the minimum, no keep-alive, and a second shutdown is a no-op.
        #expect(pool.tick(now: ms(60)) == [])
        #expect(pool.shutdown() == [])
    }

    @Test func shutdownWhileConnectingEndsWhenTheAttemptFails() {
        var pool = makePool(minimum: 1)
        #expect(pool.tick(now: ms(0)) == [.connect(0)])
        #expect(pool.shutdown() == [])
        #expect(pool.isShutDown == false)
        #expect(pool.connectFailed(0, now: ms(10), jitter: 1) == [])
        #expect(pool.isShutDown)
        #expect(pool.tick(now: ms(5_000)) == [])
    }

    @Test func connectionClosedDuringShutdownIsNotReplaced() {
        var pool = makePool(minimum: 1)
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(10)) == .use(0))
        #expect(pool.shutdown() == [])

        #expect(pool.connectionClosed(0, now: ms(20)) == nil)
        #expect(pool.isShutDown)
        #expect(pool.release(0, now: ms(30)) == nil)
    }
}
