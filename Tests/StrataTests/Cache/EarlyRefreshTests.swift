import Testing

@testable import Strata

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small deterministic generator (SplitMix64) so statistical tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    mutating func unitInterval() -> Double { 1 - Double(next() >> 11) / Double(1 << 53) }
}

@Suite struct EarlyRefreshTests {
    let base = CacheInstant(millisecondsSinceEpoch: 1_000_000)

    @Test(arguments: [(gap: 100, delta: 100, beta: 1.0), (gap: 250, delta: 100, beta: 1.0), (gap: 50, delta: 200, beta: 2.0)])
    func xfetchDecisionFrequencyMatchesTheClosedFormOverAMillionDraws(gap: Int, delta: Int, beta: Double) {
        var generator = SeededGenerator(state: UInt64(gap * 31 + delta))
        let draws = 1_000_000
        var yes = 0
        let freshUntil = base.advanced(by: .milliseconds(gap))
        for _ in 0..<draws {
            if EarlyRefreshDecision.xfetch(
                now: base, freshUntil: freshUntil, recompute: .milliseconds(delta), beta: beta,
                uniform: generator.unitInterval())
            {
                yes += 1
            }
        }
        let p = EarlyRefreshDecision.xfetchProbability(gap: .milliseconds(gap), recompute: .milliseconds(delta), beta: beta)
        #expect(abs(p - exp(-Double(gap) / (beta * Double(delta)))) < 1e-12)
        // 5-sigma binomial interval: a correct implementation fails this about once in 3.5 million runs.
        let sigma = (Double(draws) * p * (1 - p)).squareRoot()
        #expect(abs(Double(yes) - Double(draws) * p) <= 5 * sigma)
    }

    @Test func pastFreshUntilTheDecisionIsAlwaysRefresh() {
        #expect(EarlyRefreshDecision.xfetch(now: base, freshUntil: base, recompute: .milliseconds(10), beta: 1, uniform: 0.99))
    }

    @Test func withoutAMeasuredRecomputeTimeXFetchNeverFiresEarly() {
        #expect(!EarlyRefreshDecision.xfetch(now: base, freshUntil: base.advanced(by: .milliseconds(1)), recompute: .zero, beta: 1, uniform: 1e-300))
    }

    @Test func refreshAheadFiresOnceTheFractionOfTheLifetimeHasPassed() {
        let freshUntil = base.advanced(by: .seconds(100))
        #expect(!EarlyRefreshDecision.refreshAhead(now: base.advanced(by: .seconds(79)), createdAt: base, freshUntil: freshUntil, fraction: 0.8))
        #expect(EarlyRefreshDecision.refreshAhead(now: base.advanced(by: .seconds(80)), createdAt: base, freshUntil: freshUntil, fraction: 0.8))
    }

    /// Poisson arrivals at rate r on a virtual clock, no single-flight: every request that decides
    /// to refresh before the first refresh completes is a concurrent recompute. XFetch's promise is
    /// that their expected number is about e^(1/β) whatever rΔ is.
    @Test(arguments: [(rDelta: 10.0, beta: 1.0), (rDelta: 100.0, beta: 1.0), (rDelta: 100.0, beta: 2.0)])
    func concurrentRecomputesAtExpiryStayNearEToTheOneOverBeta(rDelta: Double, beta: Double) {
        var generator = SeededGenerator(state: UInt64(rDelta * 1000 + beta))
        let delta = 1.0  // seconds of recompute; rate r = rDelta / delta
        let rate = rDelta / delta
        let trials = 5_000
        var total = 0
        for _ in 0..<trials {
            // Start far enough before expiry that an early decision there is vanishingly unlikely.
            var now = -10 * beta * delta
            var firstRefreshAt: Double?
            var recomputes = 0
            while true {
                now += -log(generator.unitInterval()) / rate
                if let first = firstRefreshAt, now >= first + delta { break }
                let gap = 0 - now
                let refresh = gap <= 0 || -delta * beta * log(generator.unitInterval()) >= gap
                if refresh {
                    recomputes += 1
                    if firstRefreshAt == nil { firstRefreshAt = now }
                }
            }
            total += recomputes
        }
        let mean = Double(total) / Double(trials)
        #expect(mean <= 1.05 * exp(1 / beta), "mean concurrent recomputes \(mean)")
        #expect(mean >= 1)
        print("xfetch simulation rΔ=\(rDelta) β=\(beta): mean concurrent recomputes \(mean), bound \(1.05 * exp(1 / beta))")
    }

    @Test func anXFetchHitStartsOneBackgroundRefreshAndServesTheCurrentValue() async throws {
        let clock = ManualCacheClock()
        let cache = try StrataCache(configuration: .init(clock: clock, random: { 0.999_999 }))
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(10), refresh: .init(beta: 1))).key("x")
        let probe = LoaderProbe()
        try await withRunningCache(cache) {
            // A load that took 5 s makes Δ = 5 s; at 1 s before expiry with U ≈ 1e-6 XFetch fires.
            probe.close()
            let first = Task { try await fetch(cache, key, loading: "v1", probe: probe) }
            await eventually { probe.waitingCount == 1 }
            clock.advance(by: .seconds(5))
            probe.open()
            _ = try await first.value
            clock.advance(by: .seconds(9))
            let served = try await fetch(cache, key, loading: "v2", probe: probe)
            #expect(served == "v1")
            await eventually { (cache.memory?.value(forKey: key.storageKey)?.resolved.value as? String) == "v2" }
        }
        #expect(cache.statistics().refreshes == 1)
        #expect(probe.callCount == 2)
    }
}
