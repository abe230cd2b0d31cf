/// Removes tagged objects from a CDN or reverse proxy.
///
/// The response cache calls every configured purger after it removed the tagged entries from
/// Strata's tiers, retrying failures per ``PurgeRetryPolicy``. Implementations make one attempt
/// per call and throw on any failure (transport error, non-2xx status); they must be safe to call
/// from any number of tasks at once, and must never put credentials in error descriptions.
public protocol EdgePurger: Sendable {
    /// A short stable name for metrics and logs (`varnish`, `http-api`).
    var name: String { get }

    /// Purges every object that carries at least one of `tags`.
    func purge(tags: [String]) async throws
}

/// How failed purges are retried: exponential backoff with full jitter, a bounded number of
/// attempts.
///
/// Sans-I/O: ``delay(beforeAttempt:random:)`` is arithmetic; the caller sleeps.
public struct PurgeRetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included (at least 1).
    public var maximumAttempts: Int
    /// The backoff before the second attempt.
    public var initialDelay: Duration
    /// The cap of any backoff.
    public var maximumDelay: Duration

    /// Creates a policy (defaults: 4 attempts, 100 ms doubling up to 2 s).
    public init(maximumAttempts: Int = 4, initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(2)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The wait before attempt `attempt` (2, 3, …): a uniform draw in
    /// `[0, min(maximumDelay, initialDelay · 2^(attempt-2))]` (full jitter, so many instances
    /// purging at once do not retry in lockstep). `random` is uniform in `[0, 1)`.
    public func delay(beforeAttempt attempt: Int, random: Double) -> Duration {
        guard attempt >= 2 else { return .zero }
        let exponent = min(attempt - 2, 30)
        let ceiling = min(maximumDelay, initialDelay * (1 << exponent))
        return ceiling * min(max(random, 0), 1)
    }
}
