public import Logging
public import ServiceLifecycle
import Synchronization

/// The multi-tier cache: an in-process tier in front of an optional distributed tier, with
/// single-flight loading, early refresh, stale serving and fail-safe.
///
/// ```swift
/// let cache = StrataCache(configuration: .init(), distributedTier: redisTier)
/// let product = try await cache.value(for: products.key(id)) { try await database.product(id) }
/// ```
///
/// Create one instance per application (no global singleton) and run it as a
/// swift-service-lifecycle `Service`: shared loads and background refreshes are child tasks of
/// ``run()``, so a caller's cancellation never cancels a load other callers wait for. Before `run()`
/// starts, calls still work, but a load runs in the first caller's task.
///
/// Failure behaviour: the distributed tier is best-effort. When it times out, fails, or its circuit
/// breaker is open, reads fall back to the in-process tier and the loader, writes to it are skipped
/// (and counted), and no error reaches the caller. Only the loader's own failure can fail a call, and
/// only when no stale value may be served.
public final class StrataCache: Service, Sendable {
    /// Settings for one cache instance.
    public struct Configuration: Sendable {
        /// The most entries the in-process tier holds; 0 disables the in-process tier.
        public var memoryMaximumEntries: Int
        /// The source of time for expiry, refresh and timeouts.
        public var clock: any CacheClock
        /// Uniform random numbers in [0, 1) for XFetch and jitter; replaceable for tests.
        public var random: @Sendable () -> Double
        /// Receives every cache event (metrics, tracing).
        public var observer: any CacheObserver
        /// Where the cache logs what an operator should know.
        public var logger: Logger
        /// When distributed-tier calls are skipped after failures, and how they are probed again.
        public var breaker: CircuitBreaker.Configuration
        /// Compression of payloads written to the distributed tier.
        public var compression: CacheCompression
        /// How often ``run()`` refetches the epochs of every tag this instance knows (one batch of
        /// `GET`s), bounding how long another instance's tag invalidation can go unseen when its
        /// bus message is lost; `nil` relies on the bus alone.
        public var tagEpochRefreshInterval: Duration?
        /// Hot-key tracking from a sample of in-process lookups (see ``HotKeyTracker``); `nil`
        /// turns it off. On by default: a sampled read costs a sketch update under the tracker's
        /// lock, the others nothing. Needs the in-process tier.
        public var hotKeys: HotKeyTracker.Configuration?

        /// Creates a configuration with production defaults.
        public init(
            memoryMaximumEntries: Int = 10_000,
            clock: any CacheClock = SystemCacheClock(),
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
            observer: any CacheObserver = NoCacheObserver(),
            logger: Logger = Logger(label: "strata.cache"),
            breaker: CircuitBreaker.Configuration = CircuitBreaker.Configuration(),
            compression: CacheCompression = CacheCompression(),
            tagEpochRefreshInterval: Duration? = .seconds(1),
            hotKeys: HotKeyTracker.Configuration? = HotKeyTracker.Configuration()
        ) {
            self.hotKeys = hotKeys
            self.memoryMaximumEntries = memoryMaximumEntries
            self.clock = clock
            self.random = random
            self.observer = observer
            self.logger = logger
            self.breaker = breaker
            self.compression = compression
            self.tagEpochRefreshInterval = tagEpochRefreshInterval
        }
    }

    let configuration: Configuration
    let clock: any CacheClock
    let memory: MemoryCache<String, MemoryEntry>?
    let distributed: DistributedTierGuard?
    let flights = SingleFlightTable<ResolvedEntry>()
    let background = BackgroundWork()
    let counters: StatisticsCounters
    let events: CacheEventSink
    let invalidationBus: (any InvalidationBus)?
    let coherentTier: (any CoherentCacheTier)?
    /// Where tag epochs live: the distributed tier when it keeps them, in process without one,
    /// `nil` (tags disabled) for a distributed tier that does not.
    let tagStore: (any TagEpochStore)?
    let tagTable: Mutex<TagEpochTable>
    /// The identity of `tagTable`'s cells.
    let tagTableIdentity: ObjectIdentifier
    let tagRefreshRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// This instance's most-read keys per namespace, from sampled reads; `nil` when
    /// ``Configuration/hotKeys`` is `nil` or there is no in-process tier. Give it to a publisher
    /// (`HotKeyPublisher` in StrataRedis) to share the hot list with other instances.
    public let hotKeyTracker: HotKeyTracker?

    /// Creates a cache.
    ///
    /// - Parameters:
    ///   - configuration: instance-wide settings.
    ///   - distributedTier: the shared tier (for example `RedisCacheTier`); `nil` for in-process only.
    ///   - invalidationBus: how instances drop each other's stale in-process copies (for example
    ///     `RedisInvalidationBus`); `nil` when this is the only instance.
    /// - Throws: ``CacheError`` `.invalidConfiguration` when a setting is incoherent.
    public init(
        configuration: Configuration = Configuration(), distributedTier: (any DistributedCacheTier)? = nil,
        invalidationBus: (any InvalidationBus)? = nil
    ) throws(CacheError) {
        self.invalidationBus = invalidationBus
        self.coherentTier = distributedTier as? any CoherentCacheTier
        if let distributedTier {
            self.tagStore = distributedTier as? any TagEpochStore
        } else {
            self.tagStore = LocalTagEpochStore()
        }
        if let interval = configuration.tagEpochRefreshInterval, interval <= .zero {
            throw CacheError(.invalidConfiguration, "tagEpochRefreshInterval must be positive")
        }
        guard configuration.memoryMaximumEntries >= 0 else {
            throw CacheError(.invalidConfiguration, "memoryMaximumEntries must not be negative")
        }
        do {
            try configuration.compression.validate()
        } catch {
            throw CacheError(.invalidConfiguration, "compression: \(error)", underlying: error)
        }
        self.configuration = configuration
        self.clock = configuration.clock
        if let hotKeys = configuration.hotKeys, configuration.memoryMaximumEntries > 0 {
            self.hotKeyTracker = try HotKeyTracker(configuration: hotKeys)
        } else {
            self.hotKeyTracker = nil
        }
        let counters = StatisticsCounters()
        self.counters = counters
        self.events = CacheEventSink(counters: counters, observer: configuration.observer)
        let table = TagEpochTable()
        self.tagTableIdentity = table.identity
        self.tagTable = Mutex(table)
        if configuration.memoryMaximumEntries > 0 {
            let events = self.events
            do {
                self.memory = try MemoryCache(.init(
                    maximumCount: configuration.memoryMaximumEntries, clock: configuration.clock,
                    evictionListener: { _, _, cause in
                        if cause == .size { events.record(.memoryEvicted) }
                    }))
            } catch {
                throw CacheError(.invalidConfiguration, "memory tier: \(error)", underlying: error)
            }
        } else {
            self.memory = nil
        }
        if let distributedTier {
            self.distributed = try DistributedTierGuard(
                tier: distributedTier, breaker: configuration.breaker, events: events, logger: configuration.logger)
        } else {
            self.distributed = nil
        }
    }

    /// Runs background work (shared loads, refreshes, the invalidation bus) until cancelled or
    /// gracefully shut down.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if let bus = invalidationBus {
                    group.addTask { await self.runInvalidationBus(bus) }
                }
                if let coherentTier {
                    group.addTask { await self.runFillNotifications(coherentTier) }
                }
                // Only a shared store has epochs that change behind this instance's back.
                if tagStore != nil, distributed != nil {
                    group.addTask { await self.runTagEpochRefresh() }
                    if let interval = configuration.tagEpochRefreshInterval {
                        group.addTask { await self.runTagEpochTimer(every: interval) }
                    }
                }
                await background.run()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.background.stop()
        }
    }

    /// A snapshot of the cache's counters, with the in-process tier's size.
    public func statistics() -> CacheStatistics {
        var statistics = counters.snapshot()
        statistics.memoryEntries = memory?.count ?? 0
        if let distributed {
            statistics.breakerState = switch distributed.breaker.state {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
        return statistics
    }

    func record(_ event: CacheEvent) { events.record(event) }

    // MARK: Get-or-load

    /// Returns the cached value for `key`, loading it with `load` when no usable value is cached.
    ///
    /// Concurrent calls for the same key share one load. A fresh in-process hit costs a lock and a
    /// dictionary lookup. The call runs on the caller's executor (`nonisolated(nonsending)`): the
    /// cache's own call levels take no executor switch. Stale values are served per
    /// `options.staleness`; early refresh per `options.refresh`.
    ///
    /// - Parameters:
    ///   - options: per-call options; `nil` uses the namespace's defaults.
    ///   - load: fetches the value from the source of truth; returns `nil` for "not found" (cached
    ///     for `options.negativeFor` when set).
    /// - Returns: the value, or `nil` when the source has none.
    /// - Throws: ``CacheError`` `.loaderFailed` / `.loaderTimedOut` when the loader fails and no stale
    ///   value may be served; `.invalidConfiguration` for incoherent options; `.cancelled` when the
    ///   caller is cancelled while waiting (the shared load continues).
    nonisolated(nonsending) public func value<Value: Sendable>(
        for key: CacheKey<Value>,
        options: CacheEntryOptions? = nil,
        load: @escaping @Sendable () async throws -> Value?
    ) async throws -> Value? {
        let options = try resolvedOptions(options, for: key)
        let resolved = try await resolve(key: key, options: options, load: { try await load() })
        return resolved.value(as: Value.self)
    }

    /// Returns the cached value for `key`, loading it with `load` when no usable value is cached.
    ///
    /// The same as ``value(for:options:load:)-(_,_,()->Value?)`` for loaders that always produce a
    /// value. Throws ``CacheError`` `.loaderFailed` if a cached "not found" is met.
    nonisolated(nonsending) public func value<Value: Sendable>(
        for key: CacheKey<Value>,
        options: CacheEntryOptions? = nil,
        load: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let options = try resolvedOptions(options, for: key)
        let resolved = try await resolve(key: key, options: options, load: { try await load() })
        guard let value = resolved.value(as: Value.self) else {
            throw CacheError(.loaderFailed, "a negative (not found) entry is cached for a key whose loader never returns nil")
        }
        return value
    }

    func resolvedOptions<Value>(_ options: CacheEntryOptions?, for key: CacheKey<Value>) throws(CacheError) -> CacheEntryOptions {
        guard let options else { return key.namespace.defaultOptions }
        try options.validate()
        return options
    }
}
