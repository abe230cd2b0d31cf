public import NIOCore

/// How a ``RedisClient`` pools its connections.
///
/// Connections are shared: each carries up to ``maximumInFlightPerConnection`` commands at once
/// (auto-pipelined), so a handful of connections serve thousands of concurrent tasks.
public struct RedisPoolConfiguration: Sendable {
    /// Connections kept open even when idle (opened at start, reopened after failures).
    public var minimumConnections: Int
    /// Upper bound on open connections.
    public var maximumConnections: Int
    /// Commands one connection may have in flight; beyond this, callers wait for a slot or a new
    /// connection is opened.
    public var maximumInFlightPerConnection: Int
    /// Idle connections above the minimum are closed after this long.
    public var idleTimeout: TimeAmount
    /// Idle connections are checked with `PING` this often; nil disables keep-alive.
    public var keepAliveInterval: TimeAmount?
    /// Delay before the first reconnect attempt after a failure; doubles per failure.
    public var initialBackoff: TimeAmount
    /// Longest delay between reconnect attempts.
    public var maximumBackoff: TimeAmount
    /// Consecutive connect failures that open the circuit breaker.
    public var breakerFailureThreshold: Int
    /// How long an open breaker fails commands fast before letting one probe connect through.
    public var breakerOpenDuration: TimeAmount
    /// How often the pool expires waiters, keeps connections alive and reconnects.
    public var maintenanceInterval: TimeAmount

    /// Creates a configuration with production defaults.
    public init(
        minimumConnections: Int = 1,
        maximumConnections: Int = 8,
        maximumInFlightPerConnection: Int = 256,
        idleTimeout: TimeAmount = .seconds(60),
        keepAliveInterval: TimeAmount? = .seconds(30),
        initialBackoff: TimeAmount = .milliseconds(50),
        maximumBackoff: TimeAmount = .seconds(5),
        breakerFailureThreshold: Int = 5,
        breakerOpenDuration: TimeAmount = .seconds(2),
        maintenanceInterval: TimeAmount = .milliseconds(50)
    ) {
        self.minimumConnections = minimumConnections
        self.maximumConnections = maximumConnections
        self.maximumInFlightPerConnection = maximumInFlightPerConnection
        self.idleTimeout = idleTimeout
        self.keepAliveInterval = keepAliveInterval
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.breakerFailureThreshold = breakerFailureThreshold
        self.breakerOpenDuration = breakerOpenDuration
        self.maintenanceInterval = maintenanceInterval
    }

    /// The delay before the next reconnect after `failures` consecutive failures: doubling from
    /// ``initialBackoff``, capped at ``maximumBackoff``, scaled to 50–100% by `jitter` (0...1) so
    /// many clients do not reconnect in step. Used by the pool and by the client's dedicated
    /// connections (pub/sub, tracking).
    func backoff(afterFailures failures: Int, jitter: Double) -> TimeAmount {
        let exponent = min(max(failures - 1, 0), 30)
        let grown = initialBackoff.nanoseconds.multipliedReportingOverflow(by: 1 << exponent)
        let base = grown.overflow ? maximumBackoff.nanoseconds : min(maximumBackoff.nanoseconds, grown.partialValue)
        return .nanoseconds(max(0, Int64(Double(base) * (0.5 + 0.5 * min(max(jitter, 0), 1)))))
    }

    /// Throws naming the first incoherent setting.
    public func validate() throws(RedisError) {
        func fail(_ why: String) -> RedisError {
            RedisError(.connectionFailed, serverMessage: "invalid pool configuration: \(why)")
        }
        if minimumConnections < 0 { throw fail("minimumConnections must be >= 0") }
        if maximumConnections < 1 { throw fail("maximumConnections must be >= 1") }
        if minimumConnections > maximumConnections { throw fail("minimumConnections exceeds maximumConnections") }
        if maximumInFlightPerConnection < 1 { throw fail("maximumInFlightPerConnection must be >= 1") }
        if initialBackoff <= .zero || maximumBackoff < initialBackoff { throw fail("backoff bounds are inverted or zero") }
        if breakerFailureThreshold < 1 { throw fail("breakerFailureThreshold must be >= 1") }
        if maintenanceInterval <= .zero { throw fail("maintenanceInterval must be positive") }
    }
}
