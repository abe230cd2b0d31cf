import NIOCore

// When to re-read the cluster's slot map, free of I/O. The future cluster client calls one method
// per event (a MOVED arrived, a refresh finished or failed, its timer fired) under its lock and
// performs the returned action after releasing it. Time comes in as explicit `NIODeadline`s, so
// every path is tested with a manual clock.
//
// Policy in brief:
// - One refresh at a time. Requests that arrive while one is in flight are coalesced into a
//   single follow-up, run once the current refresh ends: the running refresh may have read the
//   map before the change that caused the request, so exactly one more is needed, never more.
// - Minimum spacing: a refresh never starts sooner than `minimumSpacing` after the previous one
//   ended. A request inside that window waits for its end (a MOVED storm costs one refresh).
// - Periodic: with no request, a refresh runs `periodicInterval` after the last success (or the
//   last periodic attempt), so a map also learns about changes no command ran into.
// - Backoff: a failed refresh is retried after `initialBackoff`, doubling per consecutive
//   failure up to `maximumBackoff` (and never sooner than the spacing). Success resets it.
// - The shell keeps at most one timer: every `armTimer` replaces the previous one; a timer that
//   fires early or during a refresh is harmless (the answer is `.none` or a new `armTimer`).
// - A refresh that never ends would block all others, so the shell must bound each refresh
//   with its command timeouts and report the outcome.

/// Decides when a cluster client re-reads the slot map: coalescing, spacing, periodic refresh and
/// backoff, with time passed in.
struct ClusterRefreshStateMachine: Sendable {
    /// The timing policy.
    struct Configuration: Hashable, Sendable {
        /// How long after a successful refresh the next one runs unprompted; nil for never.
        var periodicInterval: TimeAmount?
        /// The least time between the end of one refresh and the start of the next.
        var minimumSpacing: TimeAmount
        /// The delay before retrying after the first failure; doubles per further failure.
        var initialBackoff: TimeAmount
        /// The longest delay between retries.
        var maximumBackoff: TimeAmount

        /// Creates a policy; defaults: every 30 s, at most one per second, backoff 100 ms to 10 s.
        init(
            periodicInterval: TimeAmount? = .seconds(30), minimumSpacing: TimeAmount = .seconds(1),
            initialBackoff: TimeAmount = .milliseconds(100), maximumBackoff: TimeAmount = .seconds(10)
        ) {
            self.periodicInterval = periodicInterval
            self.minimumSpacing = minimumSpacing
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// Why a refresh starts (for logs and metrics).
    enum Reason: Hashable, Sendable {
        /// Someone asked (a `MOVED`, a connection failure, a caller), possibly as a follow-up.
        case requested
        /// The periodic interval passed.
        case periodic
        /// The previous refresh failed and its backoff passed.
        case retry
    }

    /// What the shell must do.
    enum Action: Hashable, Sendable {
        /// Nothing (the request was coalesced, or nothing is due).
        case none
        /// Read the slot map now, then report ``refreshSucceeded(now:)`` or ``refreshFailed(now:)``.
        case startRefresh(Reason)
        /// Call ``timerFired(now:)`` at this deadline, replacing any timer armed before.
        case armTimer(NIODeadline)
    }

    private enum Phase: Hashable, Sendable {
        case idle
        case refreshing(since: NIODeadline)
        case shutDown
    }

    /// The policy in force.
    let configuration: Configuration
    private var phase = Phase.idle
    /// Why a refresh is owed once the current one ends or the gate opens; nil if none is owed.
    private var owed: Reason?
    /// No refresh starts before this (spacing after the last one, or backoff after a failure).
    private var notBefore = NIODeadline.uptimeNanoseconds(0)
    /// When the next periodic refresh is due, if periodic refresh is on.
    private var nextPeriodic: NIODeadline?
    /// Refreshes that failed in a row.
    private(set) var consecutiveFailures = 0

    /// A machine with no refresh run yet; the first periodic one is due `periodicInterval` after `now`.
    init(configuration: Configuration = Configuration(), now: NIODeadline) {
        self.configuration = configuration
        self.nextPeriodic = configuration.periodicInterval.map { now + $0 }
    }

    /// Whether a refresh is in flight.
    var isRefreshing: Bool {
        if case .refreshing = phase { return true }
        return false
    }

    /// Whether a refresh is owed (coalesced behind the running one, or waiting for the gate).
    var hasOwedRefresh: Bool { owed != nil }

    /// Whether ``shutdown()`` was called.
    var isShutDown: Bool { phase == .shutDown }

    /// When the machine next wants ``timerFired(now:)``: nil while refreshing, after shutdown, or
    /// when nothing is owed and periodic refresh is off.
    var nextWakeUp: NIODeadline? {
        guard phase == .idle else { return nil }
        if owed != nil { return notBefore }
        return nextPeriodic.map { max($0, notBefore) }
    }

    // MARK: Events

    /// The map looks stale (a `MOVED`, a node unreachable, a caller's request).
    ///
    /// Starts a refresh if none runs and the spacing allows; otherwise remembers that one is owed
    /// (any number of requests owe one refresh) and answers `.none`, or `armTimer` for the first
    /// request that has to wait for the spacing.
    mutating func refreshRequested(now: NIODeadline) -> Action {
        switch phase {
        case .shutDown:
            return .none
        case .refreshing:
            if owed == nil { owed = .requested }
            return .none
        case .idle:
            if owed != nil { return .none }  // already waiting for the gate; its timer is armed
            owed = .requested
            return decide(now: now)
        }
    }

    /// The running refresh produced a map (the shell has installed it).
    mutating func refreshSucceeded(now: NIODeadline) -> Action {
        guard isRefreshing else { return .none }
        phase = .idle
        consecutiveFailures = 0
        notBefore = now + configuration.minimumSpacing
        nextPeriodic = configuration.periodicInterval.map { now + $0 }
        return decide(now: now)
    }

    /// The running refresh failed (no node answered, or the replies were unusable).
    ///
    /// A retry is owed, after a backoff that doubles with each consecutive failure.
    mutating func refreshFailed(now: NIODeadline) -> Action {
        guard isRefreshing else { return .none }
        phase = .idle
        consecutiveFailures += 1
        notBefore = now + max(configuration.minimumSpacing, backoff(afterFailures: consecutiveFailures))
        if owed == nil { owed = .retry }
        return decide(now: now)
    }

    /// The timer armed by an earlier action fired (possibly early or late).
    mutating func timerFired(now: NIODeadline) -> Action {
        decide(now: now)
    }

    /// News that makes earlier failures irrelevant (a new primary, a node back): forgets the
    /// backoff, so an owed or later refresh waits for the spacing alone.
    mutating func backoffReset(now: NIODeadline) -> Action {
        guard consecutiveFailures > 0 else { return .none }
        consecutiveFailures = 0
        notBefore = min(notBefore, now + configuration.minimumSpacing)
        return decide(now: now)
    }

    /// Stops all refreshing; every later event answers `.none`. A running refresh's outcome is ignored.
    mutating func shutdown() {
        phase = .shutDown
        owed = nil
    }

    // MARK: Deciding

    /// Starts what is due, or arms the timer for when it will be.
    private mutating func decide(now: NIODeadline) -> Action {
        guard phase == .idle else { return .none }
        if let reason = owed {
            guard now >= notBefore else { return .armTimer(notBefore) }
            return start(reason, now: now)
        }
        guard let nextPeriodic else { return .none }
        let due = max(nextPeriodic, notBefore)
        guard now >= due else { return .armTimer(due) }
        // Push the next periodic refresh out now, so a failing one is retried by backoff, not
        // immediately re-triggered as periodic.
        self.nextPeriodic = configuration.periodicInterval.map { now + $0 }
        return start(.periodic, now: now)
    }

    private mutating func start(_ reason: Reason, now: NIODeadline) -> Action {
        phase = .refreshing(since: now)
        owed = nil
        return .startRefresh(reason)
    }

    /// `initialBackoff · 2^(failures − 1)`, capped at `maximumBackoff`.
    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let exponent = min(max(failures - 1, 0), 32)
        let initial = configuration.initialBackoff.nanoseconds
        let cap = configuration.maximumBackoff.nanoseconds
        guard initial > 0, initial <= cap >> exponent else { return configuration.maximumBackoff }
        return .nanoseconds(initial << exponent)
    }
}

extension ClusterRefreshStateMachine {
    /// Sleeps until an `armTimer` deadline (at once if it passed), for the shells that run this
    /// machine; false when the sleeping task was cancelled.
    static func sleep(until deadline: NIODeadline) async -> Bool {
        let delay = deadline - .now()
        guard delay > .zero else { return true }
        do {
            try await Task.sleep(nanoseconds: UInt64(delay.nanoseconds))
            return true
        } catch {
            return false
        }
    }
}
