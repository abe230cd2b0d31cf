/// A point in wall-clock time with millisecond resolution, as stored in cache entries.
///
/// Entries written by one instance are read by others, so expiry is expressed in wall-clock time
/// (milliseconds since the Unix epoch) rather than a process-local monotonic instant. Physical
/// expiry in Redis uses Redis's own TTL; these instants only decide freshness.
public struct CacheInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    /// Creates an instant from milliseconds since the Unix epoch.
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The instant `duration` later (earlier for a negative duration), saturating at the range bounds.
    public func advanced(by duration: Duration) -> CacheInstant {
        let (sum, overflow) = millisecondsSinceEpoch.addingReportingOverflow(duration.cacheMilliseconds)
        if overflow { return duration < .zero ? .distantPast : .distantFuture }
        return CacheInstant(millisecondsSinceEpoch: sum)
    }

    /// The duration from this instant to `other` (negative when `other` is earlier).
    public func duration(to other: CacheInstant) -> Duration {
        .milliseconds(other.millisecondsSinceEpoch &- millisecondsSinceEpoch)
    }

    /// An instant later than any real clock reading.
    public static let distantFuture = CacheInstant(millisecondsSinceEpoch: .max)
    /// An instant earlier than any real clock reading.
    public static let distantPast = CacheInstant(millisecondsSinceEpoch: .min)

    public static func < (lhs: CacheInstant, rhs: CacheInstant) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { "\(millisecondsSinceEpoch)ms" }
}

extension Duration {
    /// This duration in whole milliseconds, rounded towards zero and clamped to `Int64`.
    public var cacheMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = fromSeconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// This duration in seconds as a floating-point number.
    public var cacheSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
