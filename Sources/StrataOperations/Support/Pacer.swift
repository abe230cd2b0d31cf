/// Spreads work so that it never runs faster than a rate: after `completed` operations in
/// `elapsed` time, how long to wait before the next batch.
///
/// Pure arithmetic, so the throttle of `strata warm copy` and the doctor's key sampling is
/// tested without sleeping. A nil rate never waits.
public struct Pacer: Sendable, Hashable {
    /// The highest average rate, in operations per second; nil for no limit.
    public var operationsPerSecond: Double?

    /// Creates a pacer; a nil or non-positive rate means unthrottled.
    public init(operationsPerSecond: Double?) {
        self.operationsPerSecond = operationsPerSecond.flatMap { $0 > 0 ? $0 : nil }
    }

    /// The pause that brings the average rate since the start down to the limit (zero if it is already below).
    public func delay(afterCompleting completed: Int, elapsed: Duration) -> Duration {
        guard let rate = operationsPerSecond, completed > 0 else { return .zero }
        let due = Duration.seconds(Double(completed) / rate)
        return due > elapsed ? due - elapsed : .zero
    }
}
