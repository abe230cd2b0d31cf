public import Logging
public import ServiceLifecycle
public import Strata

/// A swift-service-lifecycle `Service` that periodically merges this instance's hot keys into
/// the shared hot list in Redis.
///
/// Every ``Configuration/interval`` it takes the counts a ``HotKeyTracker`` gathered since the
/// previous publish and hands them to ``RedisHotKeyStore/publish(_:)``. A failed publish is
/// logged and its counts are dropped (the next interval publishes new ones; hot keys stay hot).
/// On graceful shutdown it publishes once more, so a short-lived instance still contributes:
/// list it after the Redis client in the service group (services shut down in reverse order).
///
/// ```swift
/// let store = try RedisHotKeyStore(client: client)
/// let publisher = HotKeyPublisher(tracker: cache.hotKeyTracker!, store: store)
/// // ServiceGroup(services: [client, cache, publisher, …], …)
/// ```
public struct HotKeyPublisher: Service {
    /// How often to publish.
    public struct Configuration: Sendable, Hashable {
        /// Time between publishes (default 30 s).
        public var interval: Duration

        /// Creates a configuration.
        public init(interval: Duration = .seconds(30)) {
            self.interval = interval
        }
    }

    let tracker: HotKeyTracker
    let store: RedisHotKeyStore
    let configuration: Configuration
    let clock: any CacheClock
    let logger: Logger

    /// Creates a publisher.
    ///
    /// - Parameter clock: paces the interval (a manual clock in tests).
    public init(
        tracker: HotKeyTracker, store: RedisHotKeyStore, configuration: Configuration = Configuration(),
        clock: any CacheClock = SystemCacheClock(), logger: Logger = Logger(label: "strata.hotkeys")
    ) {
        self.tracker = tracker
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Publishes every interval until cancelled or gracefully shut down, then once more (after a
    /// cancellation rather than a shutdown, that last publish may fail; it is logged).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await clock.sleep(for: configuration.interval) } catch { break }
                await publishNow()
            }
        }
        await publishNow()
    }

    /// Publishes the counts gathered since the previous publish now.
    ///
    /// - Returns: `false` when Redis refused or could not be reached (logged; the counts are dropped).
    @discardableResult
    public func publishNow() async -> Bool {
        let counts = tracker.takeCountsSinceLastCall()
        guard !counts.isEmpty else { return true }
        do {
            try await store.publish(counts)
            return true
        } catch {
            logger.warning("hot keys not published", metadata: ["error": "\(error)"])
            return false
        }
    }
}
