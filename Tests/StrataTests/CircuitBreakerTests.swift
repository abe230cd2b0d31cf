import Strata
import Synchronization
import Testing

@Suite struct CircuitBreakerTests {
    private let start = CacheInstant(millisecondsSinceEpoch: 1_700_000_000_000)
    private func at(_ milliseconds: Int64) -> CacheInstant { start.advanced(by: .milliseconds(milliseconds)) }

    private func breaker(_ configuration: CircuitBreaker.Configuration) throws -> CircuitBreaker {
        try CircuitBreaker(configuration: configuration)
    }

    /// Admits one call at `now` and reports `failed`; returns the transition.
    @discardableResult
    private func call(_ breaker: inout CircuitBreaker, at now: CacheInstant, failed: Bool) throws -> CircuitBreaker.Transition? {
        let permit = try #require(breaker.requestPermission(now: now).permit)
        return failed ? breaker.recordFailure(permit, now: now) : breaker.recordSuccess(permit, now: now)
    }

    @Test func opensAfterConsecutiveFailuresAndRejectsUntilTheBreakEnds() throws {
        var breaker = try breaker(.init(consecutiveFailures: 3, minimumCalls: .max, breakDuration: .seconds(5)))
        #expect(try call(&breaker, at: at(0), failed: true) == nil)
        #expect(try call(&breaker, at: at(10), failed: true) == nil)
        let transition = try call(&breaker, at: at(20), failed: true)
        #expect(transition == .init(from: .closed, to: .open(until: at(5020)), reason: .consecutiveFailures, at: at(20)))
        let rejected = breaker.requestPermission(now: at(5019))
        #expect(rejected.permit == nil && rejected.retryAfter == at(5020))
    }

    @Test func aSuccessResetsTheConsecutiveCount() throws {
        var breaker = try breaker(.init(consecutiveFailures: 2, minimumCalls: .max))
        try call(&breaker, at: at(0), failed: true)
        try call(&breaker, at: at(1), failed: false)
        #expect(try call(&breaker, at: at(2), failed: true) == nil)
        #expect(breaker.state == .closed)
    }

    @Test func opensOnTheFailureRatioOnlyOnceEnoughCallsFinished() throws {
        var breaker = try breaker(.init(consecutiveFailures: .max, failureRatio: 0.5, minimumCalls: 10))
        for index in 0..<9 { try call(&breaker, at: at(Int64(index)), failed: index % 2 == 0) }  // 5 of 9 failed
        #expect(breaker.state == .closed)
        let transition = try call(&breaker, at: at(9), failed: false)  // a success never opens
        #expect(transition == nil)
        #expect(try call(&breaker, at: at(10), failed: true)?.reason == .failureRatio)  // 6 of 11
    }

    @Test func outcomesSlideOutOfTheRollingWindow() throws {
        var breaker = try breaker(
            .init(consecutiveFailures: .max, failureRatio: 0.5, minimumCalls: 4, window: .seconds(10), windowBuckets: 10))
        for index in 0..<3 { try call(&breaker, at: at(Int64(index)), failed: true) }
        // Ten seconds later those three failures have left the window: one more is 1 of 1.
        try call(&breaker, at: at(10_500), failed: true)
        try call(&breaker, at: at(10_600), failed: false)
        try call(&breaker, at: at(10_700), failed: false)
        #expect(breaker.state == .closed)
        #expect(try call(&breaker, at: at(10_800), failed: true)?.reason == .failureRatio)  // 2 of 4
    }

    @Test func halfOpenAdmitsOnlyTheConfiguredProbesAndClosesWhenAllSucceed() throws {
        var breaker = try breaker(.init(consecutiveFailures: 1, breakDuration: .seconds(1), probes: 2))
        try call(&breaker, at: at(0), failed: true)
        let first = breaker.requestPermission(now: at(1000))
        #expect(first.transition?.to == .halfOpen && first.transition?.reason == .breakElapsed)
        let firstProbe = try #require(first.permit)
        let secondProbe = try #require(breaker.requestPermission(now: at(1001)).permit)
        #expect(firstProbe.isProbe && secondProbe.isProbe)
        #expect(breaker.requestPermission(now: at(1002)).permit == nil)
        #expect(breaker.recordSuccess(firstProbe, now: at(1010)) == nil)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.recordSuccess(secondProbe, now: at(1020))?.to == .closed)
        #expect(breaker.requestPermission(now: at(1021)).permit?.isProbe == false)
    }

    @Test func aFailedProbeReopensForAGrowingCappedBreak() throws {
        var breaker = try breaker(
            .init(consecutiveFailures: 1, breakDuration: .seconds(1), breakDurationMultiplier: 2, maximumBreakDuration: .seconds(3)))
        try call(&breaker, at: at(0), failed: true)
        #expect(try call(&breaker, at: at(1000), failed: true)?.to == .open(until: at(3000)))  // 2 s
        #expect(try call(&breaker, at: at(3000), failed: true)?.to == .open(until: at(6000)))  // 4 s capped to 3 s
        #expect(try call(&breaker, at: at(6000), failed: false)?.to == .closed)
        // Closing restores the base break.
        #expect(try call(&breaker, at: at(7000), failed: true)?.to == .open(until: at(8000)))
    }

    @Test func outcomesOfCallsAdmittedBeforeATransitionAreIgnored() throws {
        var breaker = try breaker(.init(consecutiveFailures: 1, breakDuration: .seconds(1)))
        let slow = try #require(breaker.requestPermission(now: at(0)).permit)
        try call(&breaker, at: at(1), failed: true)
        #expect(breaker.recordSuccess(slow, now: at(2)) == nil)
        #expect(breaker.state == .open(until: at(1001)))
        let probe = try #require(breaker.requestPermission(now: at(1001)).permit)
        #expect(breaker.recordFailure(slow, now: at(1002)) == nil)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.recordSuccess(probe, now: at(1003))?.to == .closed)
    }

    @Test func probesThatNeverReportAreWrittenOffAfterABreak() throws {
        var breaker = try breaker(.init(consecutiveFailures: 1, breakDuration: .seconds(1)))
        try call(&breaker, at: at(0), failed: true)
        _ = try #require(breaker.requestPermission(now: at(1000)).permit)  // lost: never reported
        #expect(breaker.requestPermission(now: at(1999)).permit == nil)
        #expect(breaker.requestPermission(now: at(2000)).permit?.isProbe == true)
    }

    @Test func aClockSteppingBackKeepsCountingInTheLatestBucket() throws {
        var breaker = try breaker(
            .init(consecutiveFailures: .max, failureRatio: 1, minimumCalls: 2, window: .seconds(1), windowBuckets: 1))
        try call(&breaker, at: at(10_000), failed: true)
        // An instant from before the last one counts as "now", not as an old bucket.
        #expect(try call(&breaker, at: at(5_000), failed: true)?.to == .open(until: at(10_000)))
    }

    @Test func incoherentConfigurationsAreRejected() {
        let invalid: [CircuitBreaker.Configuration] = [
            .init(consecutiveFailures: 0), .init(failureRatio: 0), .init(failureRatio: 1.5), .init(minimumCalls: 0),
            .init(window: .milliseconds(5), windowBuckets: 10), .init(windowBuckets: 0), .init(breakDuration: .zero),
            .init(breakDurationMultiplier: 0.5), .init(breakDuration: .seconds(10), maximumBreakDuration: .seconds(5)),
            .init(probes: 0),
        ]
        for configuration in invalid {
            #expect(throws: CircuitBreakerError.self) { try CircuitBreaker(configuration: configuration) }
        }
    }

    @Test func sharedBreakerReportsEveryTransitionOutsideItsLock() throws {
        let transitions = Mutex<[CircuitBreaker.Transition]>([])
        let shared = try SharedCircuitBreaker(configuration: .init(consecutiveFailures: 2, breakDuration: .seconds(1))) {
            transition in transitions.withLock { $0.append(transition) }
        }
        for offset in 0..<2 {
            let permit = try #require(shared.shouldAttempt(now: at(Int64(offset))))
            shared.recordFailure(permit, now: at(Int64(offset)))
        }
        #expect(shared.shouldAttempt(now: at(500)) == nil)
        let probe = try #require(shared.shouldAttempt(now: at(1001)))
        shared.recordSuccess(probe, now: at(1002))
        #expect(transitions.withLock { $0.map(\.reason) } == [.consecutiveFailures, .breakElapsed, .probesSucceeded])
        #expect(shared.state == .closed)
    }

    @Test func sharedPermitsFromBeforeATransitionAreIgnored() throws {
        let shared = try SharedCircuitBreaker(configuration: .init(consecutiveFailures: 1, breakDuration: .seconds(1), probes: 1))
        // Both admitted while closed (without the lock).
        let early = try #require(shared.shouldAttempt(now: at(0)))
        let failing = try #require(shared.shouldAttempt(now: at(0)))
        shared.recordFailure(failing, now: at(1))
        #expect(shared.shouldAttempt(now: at(2)) == nil)
        // The early call's success belongs to the closed generation that ended: it closes nothing.
        shared.recordSuccess(early, now: at(3))
        #expect(shared.state == .open(until: at(1001)))
        let probe = try #require(shared.shouldAttempt(now: at(1001)))
        #expect(probe.isProbe)
        shared.recordSuccess(probe, now: at(1002))
        let next = try #require(shared.shouldAttempt(now: at(1003)))
        #expect(!next.isProbe)
        // Nor does its failure reopen the breaker now.
        shared.recordFailure(early, now: at(1004))
        #expect(shared.state == .closed)
    }

    @Test func concurrentFailuresOpenTheSharedBreakerExactlyOnce() async throws {
        let opened = Atomic<Int>(0)
        let shared = try SharedCircuitBreaker(configuration: .init(consecutiveFailures: 10, breakDuration: .seconds(60))) {
            if case .open = $0.to { opened.add(1, ordering: .relaxed) }
        }
        let now = at(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<50 {
                        if let permit = shared.shouldAttempt(now: now) { shared.recordFailure(permit, now: now) }
                    }
                }
            }
        }
        #expect(opened.load(ordering: .relaxed) == 1)
        #expect(shared.state == .open(until: at(60_000)))
    }
}
