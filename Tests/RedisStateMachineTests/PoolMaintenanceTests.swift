import NIOCore
import Testing

@testable import Redis

/// What the periodic `tick` does besides expiring waiters: open connections up to the minimum,
/// close idle ones above it, and keep idle ones alive with PINGs.
@Suite("Pool state machine: minimum, idle close, keep-alive")
struct PoolMaintenanceTests {
    private let later = ms(600_000)

    /// Two ready connections with the minimum at one; both last used at `lastUse`.
    private func twoConnectionsAboveAMinimumOfOne(
        keepAlive: TimeAmount?, lastUse: (NIODeadline, NIODeadline)
    ) -> PoolMachine {
        var pool = makePool(minimum: 1, maximum: 2, inFlight: 1, idleTimeout: .seconds(60), keepAlive: keepAlive)
        #expect(pool.tick(now: ms(0)) == [.connect(0)])
        #expect(pool.connected(0, now: ms(0)) == [])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .use(0))
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(0)) == .wait(connect: 1))
        #expect(pool.connected(1, now: ms(0)) == [.handOver(2, 1)])
        #expect(pool.release(0, now: lastUse.0) == nil)
        #expect(pool.release(1, now: lastUse.1) == nil)
        return pool
    }

    @Test func maintenanceOpensConnectionsOneAtATimeUpToTheMinimum() {
        var pool = makePool(minimum: 2)
        #expect(pool.tick(now: ms(0)) == [.connect(0)])
        #expect(pool.tick(now: ms(50)) == [])
        #expect(pool.connected(0, now: ms(60)) == [])
        #expect(pool.tick(now: ms(100)) == [.connect(1)])
        #expect(pool.connected(1, now: ms(110)) == [])
        #expect(pool.tick(now: ms(150)) == [])
        #expect(pool.openCount == 2)
    }

    @Test func idleConnectionAboveTheMinimumClosesAfterTheIdleTimeout() {
        var pool = twoConnectionsAboveAMinimumOfOne(keepAlive: nil, lastUse: (ms(1_000), ms(2_000)))

        #expect(pool.tick(now: ms(60_999)) == [])
        #expect(pool.tick(now: ms(61_000)) == [.close(0)])
        #expect(pool.openCount == 1)
        // The last one is the minimum: it stays however long it idles.
        #expect(pool.tick(now: ms(500_000)) == [])
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(500_000)) == .use(1))
    }

    @Test func useRestartsTheIdleClock() {
        var pool = twoConnectionsAboveAMinimumOfOne(keepAlive: nil, lastUse: (ms(0), ms(0)))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(30_000)) == .use(0))
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(30_000)) == .use(1))
        #expect(pool.release(1, now: ms(30_000)) == nil)
        #expect(pool.release(0, now: ms(30_000)) == nil)

        #expect(pool.tick(now: ms(60_000)) == [])
        #expect(pool.tick(now: ms(90_000)) == [.close(0)])
    }

    @Test func busyConnectionAboveTheMinimumIsNotClosed() {
        var pool = twoConnectionsAboveAMinimumOfOne(keepAlive: nil, lastUse: (ms(0), ms(0)))
        #expect(pool.lease(waiter: 3, deadline: later, now: ms(0)) == .use(0))
        #expect(pool.lease(waiter: 4, deadline: later, now: ms(0)) == .use(1))

        #expect(pool.tick(now: ms(120_000)) == [])
        #expect(pool.release(0, now: ms(120_000)) == nil)
        #expect(pool.tick(now: ms(180_000)) == [.close(0)])
    }

    @Test func keepAlivePingsIdleConnectionsButNotBusyOnes() {
        var pool = makePool(minimum: 2, maximum: 2, inFlight: 2, idleTimeout: .seconds(60), keepAlive: .seconds(30))
        #expect(pool.startUp(at: ms(0)) == [0, 1])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .use(0))

        #expect(pool.tick(now: ms(29_999)) == [])
        #expect(pool.tick(now: ms(30_000)) == [.ping(1)])
        // The PING holds an in-flight slot until the shell releases it.
        #expect(pool.inUseCount == 2)
        #expect(pool.tick(now: ms(30_000)) == [])
        #expect(pool.release(1, now: ms(30_000)) == nil)

        #expect(pool.release(0, now: ms(45_000)) == nil)
        #expect(pool.tick(now: ms(59_999)) == [])
        #expect(pool.tick(now: ms(60_000)) == [.ping(1)])
        #expect(pool.release(1, now: ms(60_000)) == nil)
        #expect(pool.tick(now: ms(75_000)) == [.ping(0)])
    }

    @Test func keepAlivePingsDoNotKeepASurplusConnectionOpen() {
        var pool = twoConnectionsAboveAMinimumOfOne(keepAlive: .seconds(30), lastUse: (ms(0), ms(0)))

        #expect(pool.tick(now: ms(30_000)) == [.ping(0), .ping(1)])
        #expect(pool.release(0, now: ms(30_000)) == nil)
        #expect(pool.release(1, now: ms(30_000)) == nil)
        // Unused by callers for 60s: the surplus connection closes; the minimum one is checked.
        #expect(pool.tick(now: ms(60_000)) == [.close(0), .ping(1)])
        #expect(pool.openCount == 1)
        #expect(pool.release(1, now: ms(60_000)) == nil)
        #expect(pool.tick(now: ms(89_999)) == [])
        #expect(pool.tick(now: ms(90_000)) == [.ping(1)])
    }

    @Test func idleClockFollowsCallersNotPings() {
        var pool = makePool(minimum: 0, maximum: 1, inFlight: 2, idleTimeout: .seconds(60), keepAlive: .seconds(30))
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(0)) == .wait(connect: 0))
        #expect(pool.connected(0, now: ms(0)) == [.handOver(1, 0)])
        #expect(pool.release(0, now: ms(0)) == nil)

        #expect(pool.tick(now: ms(30_000)) == [.ping(0)])
        // A caller shares the connection while the PING is out.
        #expect(pool.lease(waiter: 2, deadline: later, now: ms(40_000)) == .use(0))
        #expect(pool.release(0, now: ms(40_000)) == nil)  // the PING's reply
        #expect(pool.release(0, now: ms(50_000)) == nil)  // the caller
        #expect(pool.tick(now: ms(79_999)) == [])
        #expect(pool.tick(now: ms(80_000)) == [.ping(0)])
        #expect(pool.release(0, now: ms(80_000)) == nil)
        // Idle since the caller left at 50s, whatever the PINGs did.
        #expect(pool.tick(now: ms(109_999)) == [])
        #expect(pool.tick(now: ms(110_000)) == [.close(0)])
        #expect(pool.openCount == 0)
    }

    @Test func waiterIsHandedTheSlotOfAFinishedPing() {
        var pool = makePool(minimum: 1, maximum: 1, inFlight: 1, keepAlive: .seconds(30))
        #expect(pool.startUp(at: ms(0)) == [0])
        #expect(pool.tick(now: ms(30_000)) == [.ping(0)])
        #expect(pool.lease(waiter: 1, deadline: later, now: ms(30_001)) == .wait(connect: nil))

        #expect(pool.release(0, now: ms(30_002)) == .handOver(1, 0))
        #expect(pool.release(0, now: ms(30_003)) == nil)
        #expect(pool.tick(now: ms(60_002)) == [])
        #expect(pool.tick(now: ms(60_003)) == [.ping(0)])
    }
}
