import Synchronization

/// Counts what happens during a scenario in fixed time buckets, for "source QPS over time" and
/// "hit ratio over time" charts.
public final class Timeline: Sendable {
    /// What is counted.
    public enum Event: Int, Sendable, CaseIterable {
        case request, sourceQuery, memoryHit, redisHit, error, staleServed
    }

    /// The bucket width.
    public let bucket: Duration
    private struct State {
        var start: ContinuousClock.Instant = .now
        var buckets: [[Int]] = []
    }
    private let state = Mutex(State())

    /// Starts a timeline now.
    public init(bucket: Duration = .milliseconds(250)) {
        self.bucket = bucket
    }

    /// Forgets everything counted so far and starts again now (after a warm-up).
    public func restart() {
        state.withLock { $0 = State() }
    }

    /// Counts one event at the current time.
    public func record(_ event: Event, count: Int = 1) {
        let now = ContinuousClock.now
        state.withLock { state in
            let index = Int((now - state.start) / bucket)
            guard index >= 0 else { return }
            while state.buckets.count <= index { state.buckets.append(Array(repeating: 0, count: Event.allCases.count)) }
            state.buckets[index][event.rawValue] += count
        }
    }

    /// The counts of `event` per bucket, from the start.
    public func series(_ event: Event) -> [Int] {
        state.withLock { $0.buckets.map { $0[event.rawValue] } }
    }
}
