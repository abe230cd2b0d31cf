import NIOCore
import Testing

@testable import Redis

typealias RefreshMachine = ClusterRefreshStateMachine

@Suite("Cluster refresh state machine")
struct ClusterRefreshStateMachineTests {
    let policy = RefreshMachine.Configuration(
        periodicInterval: .seconds(30), minimumSpacing: .seconds(1), initialBackoff: .milliseconds(100),
        maximumBackoff: .seconds(1)
    )

    @Test("A MOVED storm while a refresh runs costs exactly one follow-up, after the spacing")
    func coalescing() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        for t in 1...50 { #expect(machine.refreshRequested(now: ms(Int64(t))) == .none) }
        #expect(machine.isRefreshing && machine.hasOwedRefresh)
        #expect(machine.nextWakeUp == nil)
        #expect(machine.refreshSucceeded(now: ms(80)) == .armTimer(ms(1080)))
        #expect(machine.refreshRequested(now: ms(100)) == .none)  // already owed
        #expect(machine.timerFired(now: ms(500)) == .armTimer(ms(1080)))  // early timer: re-arm
        #expect(machine.timerFired(now: ms(1080)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(1100)) == .armTimer(ms(31_100)))  // only periodic left
        #expect(!machine.hasOwedRefresh)
    }

    @Test("No request during the refresh: no follow-up")
    func noFollowUp() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshRequested(now: ms(10)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(20)) == .armTimer(ms(30_020)))
        #expect(machine.nextWakeUp == ms(30_020))
    }

    @Test("Minimum spacing: a request soon after a refresh waits; later ones join it")
    func spacing() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(100)) == .armTimer(ms(30_100)))
        #expect(machine.refreshRequested(now: ms(300)) == .armTimer(ms(1100)))
        #expect(machine.refreshRequested(now: ms(400)) == .none)
        #expect(machine.nextWakeUp == ms(1100))
        #expect(machine.timerFired(now: ms(1100)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(1200)) == .armTimer(ms(31_200)))
        // After the spacing has passed, a request starts at once.
        #expect(machine.refreshRequested(now: ms(5000)) == .startRefresh(.requested))
    }

    @Test("Periodic refresh runs when nothing asks, and restarts its interval after any refresh")
    func periodic() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.nextWakeUp == ms(30_000))
        #expect(machine.timerFired(now: ms(29_999)) == .armTimer(ms(30_000)))
        #expect(machine.timerFired(now: ms(30_000)) == .startRefresh(.periodic))
        #expect(machine.refreshSucceeded(now: ms(30_050)) == .armTimer(ms(60_050)))
        #expect(machine.refreshRequested(now: ms(40_000)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(40_010)) == .armTimer(ms(70_010)))
        // A MOVED during a periodic refresh still gets its follow-up.
        #expect(machine.timerFired(now: ms(70_010)) == .startRefresh(.periodic))
        #expect(machine.refreshRequested(now: ms(70_020)) == .none)
        #expect(machine.refreshSucceeded(now: ms(70_030)) == .armTimer(ms(71_030)))
        #expect(machine.timerFired(now: ms(71_030)) == .startRefresh(.requested))
    }

    @Test("Periodic refresh can be turned off")
    func noPeriodic() {
        var machine = RefreshMachine(configuration: .init(periodicInterval: nil), now: ms(0))
        #expect(machine.nextWakeUp == nil)
        #expect(machine.timerFired(now: ms(1_000_000)) == .none)
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        #expect(machine.refreshSucceeded(now: ms(10)) == .none)
    }

    @Test("Failures back off exponentially up to the cap (never below the spacing); success resets")
    func backoff() {
        let policy = RefreshMachine.Configuration(
            periodicInterval: .seconds(30), minimumSpacing: .milliseconds(50), initialBackoff: .milliseconds(100),
            maximumBackoff: .milliseconds(1000)
        )
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        var now: Int64 = 0
        for (failures, delay) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (6, 1000)] as [(Int, Int64)] {
            now += 10
            #expect(machine.refreshFailed(now: ms(now)) == .armTimer(ms(now + delay)))
            #expect(machine.consecutiveFailures == failures)
            #expect(machine.refreshRequested(now: ms(now + 1)) == .none)  // MOVEDs do not skip the backoff
            #expect(machine.timerFired(now: ms(now + delay - 1)) == .armTimer(ms(now + delay)))
            now += delay
            #expect(machine.timerFired(now: ms(now)) == .startRefresh(.retry))
        }
        #expect(machine.refreshSucceeded(now: ms(now + 5)) == .armTimer(ms(now + 5 + 30_000)))
        #expect(machine.consecutiveFailures == 0)
        #expect(machine.refreshRequested(now: ms(now + 100)) == .startRefresh(.requested))
        #expect(machine.refreshFailed(now: ms(now + 110)) == .armTimer(ms(now + 210)))  // back to the first step
    }

    @Test("A backoff reset lets the owed retry start after the spacing alone; with no failures it does nothing")
    func backoffReset() {
        let slow = RefreshMachine.Configuration(
            periodicInterval: nil, minimumSpacing: .milliseconds(100), initialBackoff: .seconds(4), maximumBackoff: .seconds(8))
        var machine = RefreshMachine(configuration: slow, now: ms(0))
        #expect(machine.backoffReset(now: ms(0)) == .none)
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        #expect(machine.refreshFailed(now: ms(10)) == .armTimer(ms(4_010)))
        #expect(machine.backoffReset(now: ms(50)) == .armTimer(ms(150)))
        #expect(machine.consecutiveFailures == 0)
        #expect(machine.timerFired(now: ms(150)) == .startRefresh(.retry))
        #expect(machine.refreshFailed(now: ms(160)) == .armTimer(ms(4_160)), "the backoff starts over")
    }

    @Test("A request that arrived during a failing refresh is served by the retry")
    func requestDuringFailure() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        #expect(machine.refreshRequested(now: ms(5)) == .none)
        #expect(machine.refreshFailed(now: ms(10)) == .armTimer(ms(1010)))  // spacing (1 s) > backoff (100 ms)
        #expect(machine.timerFired(now: ms(1010)) == .startRefresh(.requested))
        #expect(!machine.hasOwedRefresh)
    }

    @Test("A failing periodic refresh is retried by backoff, not re-triggered as periodic")
    func failingPeriodic() {
        var machine = RefreshMachine(configuration: .init(periodicInterval: .seconds(30), minimumSpacing: .zero), now: ms(0))
        #expect(machine.timerFired(now: ms(30_000)) == .startRefresh(.periodic))
        #expect(machine.refreshFailed(now: ms(30_010)) == .armTimer(ms(30_110)))
        #expect(machine.timerFired(now: ms(30_110)) == .startRefresh(.retry))
        #expect(machine.refreshSucceeded(now: ms(30_120)) == .armTimer(ms(60_120)))
    }

    @Test("Zero spacing: the follow-up starts as soon as the refresh ends")
    func zeroSpacing() {
        var machine = RefreshMachine(configuration: .init(minimumSpacing: .zero), now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        #expect(machine.refreshRequested(now: ms(1)) == .none)
        #expect(machine.refreshSucceeded(now: ms(2)) == .startRefresh(.requested))
    }

    @Test("Outcomes with no refresh running, and shutdown")
    func strayEventsAndShutdown() {
        var machine = RefreshMachine(configuration: policy, now: ms(0))
        #expect(machine.refreshSucceeded(now: ms(1)) == .none)
        #expect(machine.refreshFailed(now: ms(1)) == .none)
        #expect(machine.consecutiveFailures == 0)
        #expect(machine.refreshRequested(now: ms(2)) == .startRefresh(.requested))
        machine.shutdown()
        #expect(machine.isShutDown)
        #expect(machine.refreshSucceeded(now: ms(3)) == .none)
        #expect(machine.refreshRequested(now: ms(4)) == .none)
        #expect(machine.timerFired(now: ms(100_000)) == .none)
        #expect(machine.nextWakeUp == nil)
    }

    @Test("A huge backoff setting does not overflow")
    func hugeBackoff() {
        var machine = RefreshMachine(
            configuration: .init(minimumSpacing: .zero, initialBackoff: .hours(1_000_000), maximumBackoff: .hours(2_000_000)),
            now: ms(0))
        #expect(machine.refreshRequested(now: ms(0)) == .startRefresh(.requested))
        for _ in 0..<70 {
            guard case .armTimer = machine.refreshFailed(now: ms(0)) else {
                Issue.record("expected a timer")
                return
            }
            _ = machine.timerFired(now: .distantFuture)
        }
    }
}
