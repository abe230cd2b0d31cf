#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides, on a hit, whether this caller should start refreshing the entry before it expires.
///
/// XFetch (Vattani, Chierichetti, Lowenstein, VLDB 2015): refresh when
/// `now − Δ·β·ln(U) ≥ freshUntil` with U uniform in (0, 1]. Equivalently, with `gap = freshUntil −
/// now`, refresh with probability `exp(−gap / (β·Δ))`. The expected number of callers that decide to
/// recompute around expiry is about `e^(1/β)` whatever the request rate, and single-flight turns
/// those into at most one load per process.
public enum EarlyRefreshDecision {
    /// Whether XFetch says to refresh now.
    ///
    /// - Parameters:
    ///   - uniform: a random number in (0, 1]; 0 is treated as the smallest positive double.
    public static func xfetch(
        now: CacheInstant, freshUntil: CacheInstant, recompute: Duration, beta: Double, uniform: Double
    ) -> Bool {
        let gapMilliseconds = Double(freshUntil.millisecondsSinceEpoch &- now.millisecondsSinceEpoch)
        if gapMilliseconds <= 0 { return true }
        let deltaMilliseconds = Double(recompute.cacheMilliseconds)
        if deltaMilliseconds <= 0 { return false }
        let u = uniform > 0 ? min(uniform, 1) : Double.leastNonzeroMagnitude
        return -deltaMilliseconds * beta * log(u) >= gapMilliseconds
    }

    /// The probability with which ``xfetch(now:freshUntil:recompute:beta:uniform:)`` says yes.
    public static func xfetchProbability(gap: Duration, recompute: Duration, beta: Double) -> Double {
        let gapSeconds = gap.cacheSeconds
        if gapSeconds <= 0 { return 1 }
        let deltaSeconds = recompute.cacheSeconds
        if deltaSeconds <= 0 { return 0 }
        return exp(-gapSeconds / (beta * deltaSeconds))
    }

    /// Whether refresh-ahead says to refresh: `fraction` of the fresh lifetime has passed.
    public static func refreshAhead(
        now: CacheInstant, createdAt: CacheInstant, freshUntil: CacheInstant, fraction: Double
    ) -> Bool {
        let lifetime = Double(freshUntil.millisecondsSinceEpoch &- createdAt.millisecondsSinceEpoch)
        let age = Double(now.millisecondsSinceEpoch &- createdAt.millisecondsSinceEpoch)
        return lifetime > 0 && age >= lifetime * fraction
    }
}
