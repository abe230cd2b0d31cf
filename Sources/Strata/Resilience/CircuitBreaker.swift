/// A circuit breaker's decisions, as a sans-I/O state machine driven by the caller's clock.
///
/// - **Closed**: every call is allowed. The breaker opens after ``Configuration/consecutiveFailures``
///   failures in a row, or when at least ``Configuration/minimumCalls`` calls finished within the
///   rolling ``Configuration/window`` and the share of failures among them reached
///   ``Configuration/failureRatio``.
/// - **Open**: calls are rejected until the break duration has passed.
/// - **Half-open**: up to ``Configuration/probes`` calls are let through as probes. When all of
///   them succeed the breaker closes; the first failure re-opens it, for a break duration
///   multiplied by ``Configuration/breakDurationMultiplier`` (up to
///   ``Configuration/maximumBreakDuration``). Probes that never report (a cancelled caller) are
///   written off after one base break duration, so the breaker cannot stay half-open forever.
///
/// Every input takes the current instant; the struct holds no clock, so tests drive it with
/// explicit instants. A ``Permit`` ties an outcome to the state that admitted it: outcomes of
/// calls admitted before the last transition are ignored (a slow call that started while closed
/// cannot close a breaker that opened since). If the wall clock steps backwards, the rolling
/// window treats time as standing still until it catches up.
///
/// Not thread-safe on its own; ``SharedCircuitBreaker`` wraps it in a lock.
public struct CircuitBreaker: Sendable {
    /// Where the breaker stands.
    public enum State: Sendable, Hashable, CustomStringConvertible {
        /// Calls flow.
        case closed
        /// Calls are rejected until the instant.
        case open(until: CacheInstant)
        /// A limited number of probe calls are let through.
        case halfOpen

        public var description: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    /// Permission for one call; hand it back with the call's outcome.
    public struct Permit: Sendable, Hashable {
        /// The transition count when the call was admitted.
        let generation: UInt64
        /// Whether this call is a half-open probe.
        public let isProbe: Bool
    }

    /// Why the state changed.
    public enum Reason: Sendable, Hashable {
        /// ``Configuration/consecutiveFailures`` failures in a row.
        case consecutiveFailures
        /// The failure ratio over the rolling window reached ``Configuration/failureRatio``.
        case failureRatio
        /// The break duration passed; probing starts.
        case breakElapsed
        /// Every probe succeeded.
        case probesSucceeded
        /// A probe failed.
        case probeFailed
    }

    /// A state change, reported for metrics and logs.
    public struct Transition: Sendable, Hashable {
        /// The state before.
        public var from: State
        /// The state after.
        public var to: State
        /// Why.
        public var reason: Reason
        /// When the transition happened.
        public var at: CacheInstant

        /// Creates a transition record.
        public init(from: State, to: State, reason: Reason, at: CacheInstant) {
            self.from = from
            self.to = to
            self.reason = reason
            self.at = at
        }
    }

    /// The outcome of ``requestPermission(now:)``.
    public struct Admission: Sendable, Hashable {
        /// The permit, or nil when the call must not be attempted.
        public var permit: Permit? = nil
        /// When a rejected call may next be let through, if known (the end of the break).
        public var retryAfter: CacheInstant? = nil
        /// The transition this request caused (open → half-open), if any.
        public var transition: Transition? = nil
    }

    private enum Phase {
        case closed
        case open(until: CacheInstant)
        case halfOpen(inFlight: Int, succeeded: Int, writeOffAt: CacheInstant)
    }

    /// The thresholds and durations.
    public let configuration: Configuration
    private var phase: Phase = .closed
    private var generation: UInt64 = 0
    private var consecutiveFailures = 0
    private var window: RollingOutcomeWindow
    private var breakDuration: Duration

    /// Creates a closed breaker.
    ///
    /// - Throws: ``CircuitBreakerError`` with code `invalidConfiguration` for incoherent settings.
    public init(configuration: Configuration = Configuration()) throws(CircuitBreakerError) {
        try configuration.validate()
        self.configuration = configuration
        window = RollingOutcomeWindow(window: configuration.window, buckets: configuration.windowBuckets)
        breakDuration = configuration.breakDuration
    }

    /// The generation of every permit while closed (closed admits without changing anything), or
    /// `nil` in the other phases.
    var generationIfClosed: UInt64? {
        guard case .closed = phase else { return nil }
        return generation
    }

    /// The current state (an elapsed break still reads as open until the next request).
    public var state: State {
        switch phase {
        case .closed: .closed
        case .open(let until): .open(until: until)
        case .halfOpen: .halfOpen
        }
    }

    /// Decides whether a call may be attempted now.
    public mutating func requestPermission(now: CacheInstant) -> Admission {
        switch phase {
        case .closed:
            return Admission(permit: Permit(generation: generation, isProbe: false))
        case .open(let until):
            guard now >= until else { return Admission(retryAfter: until) }
            let transition = move(to: .halfOpen(inFlight: 1, succeeded: 0, writeOffAt: writeOff(from: now)), .breakElapsed, now)
            return Admission(permit: Permit(generation: generation, isProbe: true), transition: transition)
        case .halfOpen(var inFlight, let succeeded, var writeOffAt):
            if now >= writeOffAt {
                inFlight = 0
                writeOffAt = writeOff(from: now)
            }
            guard inFlight + succeeded < configuration.probes else {
                phase = .halfOpen(inFlight: inFlight, succeeded: succeeded, writeOffAt: writeOffAt)
                return Admission()
            }
            phase = .halfOpen(inFlight: inFlight + 1, succeeded: succeeded, writeOffAt: writeOffAt)
            return Admission(permit: Permit(generation: generation, isProbe: true))
        }
    }

    /// Records a successful call; returns the transition it caused, if any.
    public mutating func recordSuccess(_ permit: Permit, now: CacheInstant) -> Transition? {
        guard permit.generation == generation else { return nil }
        switch phase {
        case .closed:
            consecutiveFailures = 0
            window.record(failure: false, at: now)
            return nil
        case .open:
            return nil
        case .halfOpen(let inFlight, let succeeded, let writeOffAt):
            guard succeeded + 1 >= configuration.probes else {
                phase = .halfOpen(inFlight: max(inFlight - 1, 0), succeeded: succeeded + 1, writeOffAt: writeOffAt)
                return nil
            }
            breakDuration = configuration.breakDuration
            return move(to: .closed, .probesSucceeded, now)
        }
    }

    /// Records a failed call; returns the transition it caused, if any.
    public mutating func recordFailure(_ permit: Permit, now: CacheInstant) -> Transition? {
        guard permit.generation == generation else { return nil }
        switch phase {
        case .closed:
            consecutiveFailures += 1
            window.record(failure: true, at: now)
            if consecutiveFailures >= configuration.consecutiveFailures {
                return move(to: .open(until: now.advanced(by: breakDuration)), .consecutiveFailures, now)
            }
            let (calls, failures) = window.totals(at: now)
            if calls >= configuration.minimumCalls, Double(failures) >= configuration.failureRatio * Double(calls) {
                return move(to: .open(until: now.advanced(by: breakDuration)), .failureRatio, now)
            }
            return nil
        case .open:
            return nil
        case .halfOpen:
            breakDuration = grown(breakDuration)
            return move(to: .open(until: now.advanced(by: breakDuration)), .probeFailed, now)
        }
    }

    private mutating func move(to next: Phase, _ reason: Reason, _ now: CacheInstant) -> Transition {
        let from = state
        phase = next
        generation &+= 1
        if case .closed = next {
            consecutiveFailures = 0
            window.reset()
        }
        return Transition(from: from, to: state, reason: reason, at: now)
    }

    private func writeOff(from now: CacheInstant) -> CacheInstant {
        now.advanced(by: configuration.breakDuration)
    }

    private func grown(_ duration: Duration) -> Duration {
        let next = duration * configuration.breakDurationMultiplier
        return min(next, configuration.maximumBreakDuration)
    }
}
