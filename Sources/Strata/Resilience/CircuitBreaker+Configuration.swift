extension CircuitBreaker {
    /// When a ``CircuitBreaker`` opens, how long it stays open, and how it probes.
    ///
    /// To use only one opening rule, switch the other off: `consecutiveFailures: .max`, or
    /// `minimumCalls: .max`.
    public struct Configuration: Sendable, Hashable {
        /// Open after this many failures in a row (default 5).
        public var consecutiveFailures: Int
        /// Open when failures reach this share of the calls in the window (default 0.5)…
        public var failureRatio: Double
        /// …provided at least this many calls finished in the window (default 20).
        public var minimumCalls: Int
        /// The span of the rolling window (default 10 s).
        public var window: Duration
        /// How many buckets the window is counted in; it slides one bucket at a time (default 10).
        public var windowBuckets: Int
        /// How long the breaker stays open the first time (default 5 s).
        public var breakDuration: Duration
        /// The factor applied to the break after each failed probe (default 2; 1 keeps it constant).
        public var breakDurationMultiplier: Double
        /// The longest break (default 60 s).
        public var maximumBreakDuration: Duration
        /// Probe calls let through when half-open; all must succeed to close (default 1).
        public var probes: Int

        /// Creates a configuration; every parameter has a default suited to a cache tier.
        public init(
            consecutiveFailures: Int = 5, failureRatio: Double = 0.5, minimumCalls: Int = 20,
            window: Duration = .seconds(10), windowBuckets: Int = 10, breakDuration: Duration = .seconds(5),
            breakDurationMultiplier: Double = 2, maximumBreakDuration: Duration = .seconds(60), probes: Int = 1
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.failureRatio = failureRatio
            self.minimumCalls = minimumCalls
            self.window = window
            self.windowBuckets = windowBuckets
            self.breakDuration = breakDuration
            self.breakDurationMultiplier = breakDurationMultiplier
            self.maximumBreakDuration = maximumBreakDuration
            self.probes = probes
        }

        /// Rejects incoherent settings rather than silently adjusting them.
        public func validate() throws(CircuitBreakerError) {
            func check(_ condition: Bool, _ message: String) throws(CircuitBreakerError) {
                guard condition else { throw CircuitBreakerError(.invalidConfiguration, message: message) }
            }
            try check(consecutiveFailures >= 1, "consecutiveFailures must be at least 1")
            try check(failureRatio > 0 && failureRatio <= 1, "failureRatio must be in (0, 1]")
            try check(minimumCalls >= 1, "minimumCalls must be at least 1")
            try check((1...1000).contains(windowBuckets), "windowBuckets must be in 1...1000")
            try check(window.cacheMilliseconds >= Int64(windowBuckets), "window must be at least 1 ms per bucket")
            try check(breakDuration.cacheMilliseconds >= 1, "breakDuration must be at least 1 ms")
            try check(breakDurationMultiplier >= 1 && breakDurationMultiplier.isFinite, "breakDurationMultiplier must be >= 1")
            try check(maximumBreakDuration >= breakDuration, "maximumBreakDuration must be >= breakDuration")
            try check(probes >= 1, "probes must be at least 1")
        }
    }
}

/// Why a circuit breaker refused a call or a configuration.
///
/// `description` names the code and, for configuration errors, which setting is wrong.
public struct CircuitBreakerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case open
            case invalidConfiguration = "invalid_configuration"
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The breaker is open (or half-open with all probes taken): the call was not attempted.
        public static let open = Code(.open)
        /// A configuration value is out of range or contradicts another.
        public static let invalidConfiguration = Code(.invalidConfiguration)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// Details safe to log (no keys or values).
    public var message: String

    /// Creates an error.
    public init(_ code: Code, message: String = "") {
        self.code = code
        self.message = message
    }

    public var description: String {
        message.isEmpty ? "CircuitBreakerError(\(code))" : "CircuitBreakerError(\(code): \(message))"
    }
}

/// Successes and failures over a sliding window, counted in fixed-width buckets.
struct RollingOutcomeWindow: Sendable {
    private struct Bucket {
        var index: Int64 = .min
        var calls = 0
        var failures = 0
    }

    private var buckets: [Bucket]
    private let width: Int64
    /// The latest bucket index seen: a clock stepping back does not rewind the window.
    private var latest: Int64 = .min

    init(window: Duration, buckets count: Int) {
        buckets = Array(repeating: Bucket(), count: count)
        width = max(window.cacheMilliseconds / Int64(count), 1)
    }

    private mutating func currentIndex(_ now: CacheInstant) -> Int64 {
        latest = max(latest, now.millisecondsSinceEpoch / width)
        return latest
    }

    mutating func record(failure: Bool, at now: CacheInstant) {
        let index = currentIndex(now)
        let slot = Int(index.magnitude % UInt64(buckets.count))
        if buckets[slot].index != index { buckets[slot] = Bucket(index: index) }
        buckets[slot].calls += 1
        if failure { buckets[slot].failures += 1 }
    }

    mutating func totals(at now: CacheInstant) -> (calls: Int, failures: Int) {
        let index = currentIndex(now)
        let oldest = index &- Int64(buckets.count) &+ 1
        var calls = 0
        var failures = 0
        for bucket in buckets where bucket.index >= oldest && bucket.index <= index {
            calls += bucket.calls
            failures += bucket.failures
        }
        return (calls, failures)
    }

    mutating func reset() {
        for slot in buckets.indices { buckets[slot] = Bucket() }
    }
}
