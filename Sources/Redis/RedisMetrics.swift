public import CoreMetrics
import Metrics
import NIOCore
import Synchronization

/// The client's swift-metrics instruments.
///
/// Dimensions are command names and error codes only; no key or value ever becomes a dimension.
/// Instruments are created once per (command, outcome) and reused, so recording costs a lookup
/// and the backend's own work.
///
/// - `<prefix>.command.duration` (timer): command latency, by `command`.
/// - `<prefix>.command.errors` (counter): failed commands, by `command` and `code`.
/// - `<prefix>.connect.failures` (counter): failed connection attempts.
/// - `<prefix>.pool.connections.open`, `.in_use`, `.waiters` (gauges) and
///   `<prefix>.pool.breaker.open` (gauge, 1 while the breaker fails fast).
public struct RedisMetrics: Sendable {
    /// The label prefix of every instrument.
    public let prefix: String
    private let instruments: Instruments
    /// False when the factory is swift-metrics' no-op one (the global factory before
    /// `MetricsSystem.bootstrap`): every instrument would discard what it is given, so command
    /// outcomes are not timed or looked up at all. Instruments are bound to their factory when
    /// made, so a later bootstrap would not reach them either.
    private let recordsCommands: Bool

    /// Creates the instruments under `prefix`, from `factory` (the bootstrapped global one by
    /// default; pass another to keep several clients' metrics apart, or in tests).
    public init(prefix: String = "redis", factory: any MetricsFactory = MetricsSystem.factory) {
        self.prefix = prefix
        self.instruments = Instruments(prefix: prefix, factory: factory)
        self.recordsCommands = !(factory is NOOPMetricsHandler)
    }

    func recordCommand(_ name: String, started: NIODeadline, error: RedisError.Code?) {
        guard recordsCommands else { return }
        let elapsed = NIODeadline.now() - started
        instruments.timer(for: name).recordNanoseconds(elapsed.nanoseconds)
        if let error { instruments.errorCounter(command: name, code: error).increment() }
    }

    func recordError(_ name: String, code: RedisError.Code) {
        guard recordsCommands else { return }
        instruments.errorCounter(command: name, code: code).increment()
    }

    func connectFailed() { instruments.connectFailures.increment() }

    func recordPool(open: Int, inUse: Int, waiters: Int, breakerOpen: Bool) {
        instruments.poolOpen.record(open)
        instruments.poolInUse.record(inUse)
        instruments.poolWaiters.record(waiters)
        instruments.breakerOpen.record(breakerOpen ? 1 : 0)
    }

    private final class Instruments: Sendable {
        let prefix: String
        let factory: any MetricsFactory
        let connectFailures: Counter
        let poolOpen: Gauge
        let poolInUse: Gauge
        let poolWaiters: Gauge
        let breakerOpen: Gauge
        private let timers = Mutex<[String: Metrics.Timer]>([:])
        private let errors = Mutex<[String: Counter]>([:])

        init(prefix: String, factory: any MetricsFactory) {
            self.prefix = prefix
            self.factory = factory
            connectFailures = Counter(label: "\(prefix).connect.failures", factory: factory)
            poolOpen = Gauge(label: "\(prefix).pool.connections.open", factory: factory)
            poolInUse = Gauge(label: "\(prefix).pool.connections.in_use", factory: factory)
            poolWaiters = Gauge(label: "\(prefix).pool.waiters", factory: factory)
            breakerOpen = Gauge(label: "\(prefix).pool.breaker.open", factory: factory)
        }

        func timer(for command: String) -> Metrics.Timer {
            if let timer = timers.withLock({ $0[command] }) { return timer }
            let timer = Metrics.Timer(label: "\(prefix).command.duration", dimensions: [("command", command)], factory: factory)
            timers.withLock { $0[command] = timer }
            return timer
        }

        func errorCounter(command: String, code: RedisError.Code) -> Counter {
            let key = "\(command) \(code)"
            if let counter = errors.withLock({ $0[key] }) { return counter }
            let counter = Counter(
                label: "\(prefix).command.errors", dimensions: [("command", command), ("code", code.description)],
                factory: factory
            )
            errors.withLock { $0[key] = counter }
            return counter
        }
    }
}
