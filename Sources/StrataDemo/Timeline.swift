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
    private let start: ContinuousClock.Instant
    private let buckets = Mutex<[[Int]]>([])

    /// Starts a timeline now.
    public init(bucket: Duration = .milliseconds(250)) {
        self.bucket = bucket
        self.start = .now
    }

    /// Counts one event at the current time.
    public func record(_ event: Event, count: Int = 1) {
        let index = Int((ContinuousClock.now - start) / bucket)
        buckets.withLock { buckets in
            while buckets.count <= index { buckets.append(Array(repeating: 0, count: Event.allCases.count)) }
            buckets[index][event.rawValue] += count
        }
    }

    /// The counts of `event` per bucket, from the start.
    public func series(_ event: Event) -> [Int] {
        buckets.withLock { $0.map { $0[event.rawValue] } }
    }

    /// Seconds since the timeline started.
    public var elapsed: Duration { ContinuousClock.now - start }
}
