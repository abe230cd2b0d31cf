import Synchronization

/// A ``CircuitBreaker`` shared by concurrent callers, with a state-change callback.
///
/// ```swift
/// guard let permit = breaker.shouldAttempt(now: clock.now) else { throw CircuitBreakerError(.open) }
/// do {
///     let value = try await tier.get(key)
///     breaker.recordSuccess(permit, now: clock.now)
/// } catch {
///     breaker.recordFailure(permit, now: clock.now)
/// }
/// ```
///
/// Decisions are made under a lock; `onStateChange` runs after the lock is released, on the
/// caller's task, so it may log or update metrics but should not block. Callbacks for
/// transitions made by different tasks at nearly the same time may run in either order; each
/// carries its instant. While closed, admitting a call takes no lock (an atomic load of the
/// closed generation), so concurrent callers contend only for recording outcomes.
public final class SharedCircuitBreaker: Sendable {
    private let breaker: Mutex<CircuitBreaker>
    private let onStateChange: @Sendable (CircuitBreaker.Transition) -> Void
    /// The generation while closed, -1 otherwise; written under the lock after every change.
    private let closedGeneration = Atomic<Int64>(0)

    /// Creates a closed breaker.
    ///
    /// - Throws: ``CircuitBreakerError`` (`invalidConfiguration`).
    public init(
        configuration: CircuitBreaker.Configuration = CircuitBreaker.Configuration(),
        onStateChange: @escaping @Sendable (CircuitBreaker.Transition) -> Void = { _ in }
    ) throws(CircuitBreakerError) {
        breaker = Mutex(try CircuitBreaker(configuration: configuration))
        self.onStateChange = onStateChange
    }

    /// The current state.
    public var state: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// A permit when a call may be attempted now, nil when the breaker rejects it.
    public func shouldAttempt(now: CacheInstant) -> CircuitBreaker.Permit? {
        // A permit handed out just before another task's transition carries the old generation,
        // which the breaker ignores, exactly as if it had been handed out under the lock.
        let closed = closedGeneration.load(ordering: .acquiring)
        if closed >= 0 { return CircuitBreaker.Permit(generation: UInt64(closed), isProbe: false) }
        let admission = locked { $0.requestPermission(now: now) }
        if let transition = admission.transition { onStateChange(transition) }
        return admission.permit
    }

    /// Records that the call admitted with `permit` succeeded.
    public func recordSuccess(_ permit: CircuitBreaker.Permit, now: CacheInstant) {
        if let transition = locked({ $0.recordSuccess(permit, now: now) }) { onStateChange(transition) }
    }

    /// Records that the call admitted with `permit` failed.
    public func recordFailure(_ permit: CircuitBreaker.Permit, now: CacheInstant) {
        if let transition = locked({ $0.recordFailure(permit, now: now) }) { onStateChange(transition) }
    }

    /// Runs `body` under the lock, then publishes the closed generation if it changed.
    private func locked<Result>(_ body: (inout CircuitBreaker) -> Result) -> Result {
        breaker.withLock { breaker in
            let result = body(&breaker)
            let closed = breaker.generationIfClosed.map { Int64($0) } ?? -1
            // Stored only on a change, so the steady state writes nothing the fast path reads.
            if closedGeneration.load(ordering: .relaxed) != closed {
                closedGeneration.store(closed, ordering: .releasing)
            }
            return result
        }
    }
}
