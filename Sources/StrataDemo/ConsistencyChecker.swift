import Logging
import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Synchronization

/// A history-based checker of the cache's consistency under concurrent writes.
///
/// Several application instances (each with its own Redis client and cache) read and write a few
/// hot products in a versioned SQLite catalogue, with adversarial delays: a loader waits after
/// reading the source before it returns (so its fill can arrive after a newer write), a writer
/// waits between committing and invalidating. Every operation's start, end and version is
/// recorded; a read is **stale** when it started after some write's invalidation was acknowledged
/// and returned an older version than that write's. Reads bypass the in-process tier, so the
/// check is exact for the distributed tier (the in-process tier's staleness is bounded by the
/// invalidation bus's propagation time, measured separately).
public struct ConsistencyChecker: Sendable {
    /// How to write and invalidate.
    public enum Strategy: String, Sendable, CaseIterable, Codable {
        /// Write the source, delete the cache entry; plain fills.
        case naive = "naive cache-aside"
        /// Write the source, delete, and delete again 100 ms later.
        case doubleDelete = "write-around + double delete"
        /// Write the source, then store the new value with its version (compare-and-set).
        case versionedWriteThrough = "write-through with versions"
        /// Leases on misses; writes invalidate with the committed version.
        case leases = "leases"
        /// Leases, with every instance's in-process tier in front: reads may lag a write only
        /// until the invalidation bus reached their instance.
        case leasesWithInProcessTier = "leases + in-process tier"

        /// Whether reads may be answered by in-process tiers.
        var usesInProcessTier: Bool { self == .leasesWithInProcessTier }
    }

    /// Settings of a check.
    public struct Configuration: Sendable {
        /// Operations (reads + writes) per strategy.
        public var operations: Int
        /// Application instances.
        public var instances: Int
        /// Hot products everyone reads and writes.
        public var hotKeys: Int
        /// Concurrent readers per instance.
        public var readersPerInstance: Int
        /// Concurrent writers per instance.
        public var writersPerInstance: Int
        /// A loader waits this long after reading the source (the stale-set window).
        public var loaderDelay: ClosedRange<Duration>
        /// A writer waits this long between committing and invalidating.
        public var writerDelay: ClosedRange<Duration>
        /// Which strategies to run.
        public var strategies: [Strategy]
        /// Faults injected while each strategy runs, in turn (none by default).
        public var nemesis: [NemesisFault]
        /// Time between two injected faults.
        public var nemesisInterval: Duration
        /// How instances learn of each other's writes.
        public var bus: Bus

        /// Creates a configuration; the defaults are the documented 10^5-operation run.
        public init(
            operations: Int = 100_000, instances: Int = 3, hotKeys: Int = 4, readersPerInstance: Int = 12,
            writersPerInstance: Int = 2, loaderDelay: ClosedRange<Duration> = .zero ... .milliseconds(20),
            writerDelay: ClosedRange<Duration> = .zero ... .milliseconds(5), strategies: [Strategy] = Strategy.allCases,
            nemesis: [NemesisFault] = [], nemesisInterval: Duration = .milliseconds(300), bus: Bus = .pubSub
        ) {
            self.operations = operations
            self.instances = instances
            self.hotKeys = hotKeys
            self.readersPerInstance = readersPerInstance
            self.writersPerInstance = writersPerInstance
            self.loaderDelay = loaderDelay
            self.writerDelay = writerDelay
            self.strategies = strategies
            self.nemesis = nemesis
            self.nemesisInterval = nemesisInterval
            self.bus = bus
        }
    }

    /// What one strategy did.
    public struct StrategyResult: Sendable, Codable {
        /// The strategy's name.
        public var name: String
        /// Reads that returned a version older than one already acknowledged.
        public var staleReads: Int
        /// The longest time a stale read lagged behind the acknowledgement it missed.
        public var maxStalenessMs: Double
        /// Loader calls (source reads through the cache).
        public var loaderCalls: Int
        /// Reads answered by the cache.
        public var hitRatio: Double
        /// Operations recorded.
        public var operations: Int
        /// Faults the nemesis injected during the run.
        public var faultsInjected: Int
        /// In-process reads older than an acknowledged write but served before its invalidation
        /// reached their instance (allowed; zero for strategies without an in-process tier).
        public var staleWithinPropagation: Int
        /// The longest such lag.
        public var maxStalenessWithinPropagationMs: Double
        /// Acknowledgement of a write to its invalidation reaching another instance, 99th
        /// percentile and worst (in-process strategies only).
        public var propagationP99Ms: Double
        /// See ``propagationP99Ms``.
        public var propagationMaxMs: Double
    }

    let configuration: Configuration

    /// Creates a checker.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs every configured strategy against `redis` and the catalogue. A `.restart` fault needs
    /// `server`, the private server the check may kill and start again.
    func run(
        redis: DemoRedis, server: RedisServer?, catalog: ProductCatalog, progress: DemoProgress
    ) async throws -> [StrategyResult] {
        if configuration.nemesis.contains(.restart), server == nil {
            throw DemoError("the restart fault needs the check's private redis-server (omit --redis)")
        }
        var results: [StrategyResult] = []
        let faults = configuration.nemesis.isEmpty ? "" : ", nemesis: " + configuration.nemesis.map(\.rawValue).joined(separator: "+")
        for strategy in configuration.strategies {
            progress.step("consistency: \(strategy.rawValue) (\(configuration.operations) operations\(faults))")
            results.append(try await run(strategy, redis: redis, server: server, catalog: catalog))
        }
        return results
    }

    private func run(_ strategy: Strategy, redis: DemoRedis, server: RedisServer?, catalog: ProductCatalog) async throws -> StrategyResult {
        let admin = try await redis.makeAdmin()
        let history = History()
        // Receipts of the hot keys mark invalidations. Pub/sub carries exactly the invalidated
        // keys; tracking reports fills too, which makes the check stricter than it needs to be
        // there (a fill reported just before a write's invalidation counts as its receipt).
        let namespace = try CheckedInstance.namespace(for: strategy)
        let watched = Dictionary(uniqueKeysWithValues: (0..<configuration.hotKeys).map { id in (namespace.key(id).storageKey, id) })
        let stacks = try (0..<configuration.instances).map { instance in
            try CheckedInstance(strategy: strategy, redis: redis, bus: self.configuration.bus) { event, at in
                switch event {
                case .invalidate(let keys):
                    for key in keys {
                        if let id = watched[key] { history.recordReceipt(instance: instance, key: id, at: at) }
                    }
                case .flush:
                    history.recordReceipt(instance: instance, key: nil, at: at)
                case .tagEpoch:
                    break  // the checker uses no tags
                }
            }
        }
        let nemesis = Nemesis(faults: configuration.nemesis, interval: configuration.nemesisInterval, admin: admin, server: server)
        let counters = RunCounters(budget: configuration.operations)
        let configuration = self.configuration
        let hotIDs = Array(0..<configuration.hotKeys)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await admin.run() }
            for stack in stacks {
                for connection in stack.connections.services { group.addTask { try await connection.run() } }
                group.addTask { try await stack.cache.run() }
            }
            defer {
                admin.shutdown()
                group.cancelAll()
            }
            try await admin.flushAll()
            try await withThrowingTaskGroup(of: Void.self) { workers in
                workers.addTask { await nemesis.run(until: counters) }
                for (index, stack) in stacks.enumerated() {
                    for reader in 0..<configuration.readersPerInstance {
                        workers.addTask {
                            var random = SeededRandom(seed: UInt64(index * 1000 + reader))
                            while counters.takeOperation() {
                                let id = hotIDs[Int(random.next() % UInt64(hotIDs.count))]
                                let delay = Self.pick(configuration.loaderDelay, &random)
                                let start = ContinuousClock.now
                                let product = try await stack.cache.value(for: stack.products.key(id)) {
                                    counters.countLoad()
                                    let product = try await catalog.product(id: id)
                                    try await Task.sleep(for: delay)
                                    return product
                                }
                                history.recordRead(instance: index, key: id, version: product?.version ?? 0, start: start)
                            }
                        }
                    }
                    for writer in 0..<configuration.writersPerInstance {
                        workers.addTask {
                            var random = SeededRandom(seed: UInt64(index * 1000 + 500 + writer))
                            while counters.takeOperation() {
                                let id = hotIDs[Int(random.next() % UInt64(hotIDs.count))]
                                let version = try await catalog.updatePrice(id: id, priceCents: Int(random.next() % 100_000))
                                try await Task.sleep(for: Self.pick(configuration.writerDelay, &random))
                                // A write counts as acknowledged once its cache update was: a
                                // production writer retries (or fails the request) until then.
                                var invalidating = ContinuousClock.now
                                while try await !stack.invalidate(id: id, version: version, catalog: catalog) {
                                    try await Task.sleep(for: .milliseconds(10))
                                    invalidating = .now
                                }
                                history.recordWrite(
                                    instance: index, key: id, version: version, invalidationStarted: invalidating, acknowledged: .now)
                                // Writers are rarer than readers: pace them.
                                try await Task.sleep(for: .milliseconds(Int64(random.next() % 10)))
                            }
                        }
                    }
                }
                try await workers.waitForAll()
            }
        }

        // Every strategy runs on StrataCache, whose callers may join a load already in flight in
        // their process: like an in-process hit, such a read can only be as current as what its
        // instance has heard. So every read may lag a write until its instance received the
        // invalidation (the writer's own instance: until the acknowledgement), and no longer.
        let verdict = history.check()
        let propagation = verdict.propagation.sorted()
        let reads = verdict.reads
        // Reads the cache answered (a lease waiter woken by someone's fill included). Loader calls
        // are no measure of misses: a fill refused by an invalidation makes its waiters load again.
        let hits = stacks.reduce(0) { total, stack in
            let statistics = stack.cache.statistics()
            return total + statistics.memoryHits + statistics.distributedHits
        }
        return StrategyResult(
            name: strategy.rawValue, staleReads: verdict.staleReads,
            maxStalenessMs: verdict.maxStaleness.milliseconds,
            loaderCalls: counters.loads,
            hitRatio: reads == 0 ? 0 : min(1, Double(hits) / Double(reads)),
            operations: verdict.reads + verdict.writes, faultsInjected: nemesis.injected,
            staleWithinPropagation: verdict.staleWithinPropagation,
            maxStalenessWithinPropagationMs: verdict.maxStalenessWithinPropagation.milliseconds,
            propagationP99Ms: propagation.isEmpty ? 0 : propagation[min(propagation.count - 1, propagation.count * 99 / 100)].milliseconds,
            propagationMaxMs: propagation.last?.milliseconds ?? 0)
    }

    static func pick(_ range: ClosedRange<Duration>, _ random: inout SeededRandom) -> Duration {
        let low = range.lowerBound.cacheMicroseconds
        let high = range.upperBound.cacheMicroseconds
        guard high > low else { return range.lowerBound }
        return .microseconds(low + Int64(random.next() % UInt64(high - low + 1)))
    }
}

/// Shared by every worker of a run: the operations left, and the loader calls made.
final class RunCounters: Sendable {
    private let budget: Atomic<Int>
    private let loaderCalls = Atomic<Int>(0)

    init(budget: Int) { self.budget = Atomic(budget) }

    /// Takes one operation from the budget; `false` once it is spent.
    func takeOperation() -> Bool { budget.wrappingSubtract(1, ordering: .relaxed).oldValue > 0 }
    func countLoad() { loaderCalls.wrappingAdd(1, ordering: .relaxed) }
    /// Whether every operation of the budget has been taken.
    var isSpent: Bool { budget.load(ordering: .relaxed) <= 0 }
    var loads: Int { loaderCalls.load(ordering: .relaxed) }
}

/// One application instance of the checker: client, cache, namespace, and the strategy's write path.
struct CheckedInstance: Sendable {
    let strategy: ConsistencyChecker.Strategy
    let connections: DemoRedisStack
    let cache: StrataCache
    let products: CacheNamespace<Product>

    /// - Parameter received: called with every invalidation the instance's bus delivers.
    init(
        strategy: ConsistencyChecker.Strategy, redis: DemoRedis, bus kind: ConsistencyChecker.Bus,
        received: @escaping @Sendable (InvalidationEvent, ContinuousClock.Instant) -> Void
    ) throws {
        self.strategy = strategy
        connections = try redis.makeStack(tier: .init(operationTimeout: .seconds(2)))
        let bus: any InvalidationBus = switch kind {
        case .pubSub: RedisInvalidationBus(client: connections.busClient, configuration: .init(channel: "strata:check:invalidations"))
        case .tracking: RedisTrackingInvalidationBus(client: connections.busClient)
        }
        cache = try StrataCache(
            configuration: .init(
                memoryMaximumEntries: strategy.usesInProcessTier ? 1_000 : 0, logger: DemoEnvironment.quietLogger,
                // Short, constant breaks: a nemesis run should exercise Redis between faults, not
                // wait out ever longer breaks with the tier switched off.
                breaker: .init(breakDuration: .milliseconds(100), breakDurationMultiplier: 1)),
            distributedTier: connections.tier,
            invalidationBus: ObservedInvalidationBus(base: bus, received: received))
        products = try Self.namespace(for: strategy)
    }

    /// The checked namespace: binary codec, the strategy's tiers and leases, and the row version
    /// as data version where the strategy compares versions.
    static func namespace(for strategy: ConsistencyChecker.Strategy) throws -> CacheNamespace<Product> {
        var options = CacheEntryOptions(
            freshFor: .seconds(600), refresh: .init(beta: nil), tiers: strategy.usesInProcessTier ? .all : .distributedOnly)
        options.expiration.memoryFreshFor = .seconds(600)
        options.coherence.leases = strategy == .leases || strategy == .leasesWithInProcessTier
        options.coherence.maximumLeaseWait = .seconds(2)
        let versioned = strategy != .naive && strategy != .doubleDelete
        var dataVersion: (@Sendable (Product) -> Int64?)?
        if versioned { dataVersion = { product in product.version } }
        return try CacheNamespace<Product>("checked", codec: BinaryCacheCodec(), defaultOptions: options, dataVersion: dataVersion)
    }

    /// The strategy's cache update after the source committed `version`; `false` when Redis did
    /// not acknowledge it.
    func invalidate(id: Int, version: Int64, catalog: ProductCatalog) async throws -> Bool {
        let key = products.key(id)
        switch strategy {
        case .naive:
            return await cache.remove(key)
        case .doubleDelete:
            return await cache.remove(key, againAfter: .milliseconds(100))
        case .versionedWriteThrough:
            // The writer has the committed row (here: read back inside the same transaction's version).
            guard let product = try await catalog.productWithoutLatency(id: id), product.version >= version else { return true }
            return try await cache.write(product, for: key, version: product.version) != nil
        case .leases, .leasesWithInProcessTier:
            return await cache.invalidate(key, version: version)
        }
    }
}

/// Forwards to a bus and reports each delivered invalidation with the time it was applied.
struct ObservedInvalidationBus: InvalidationBus {
    let base: any InvalidationBus
    let received: @Sendable (InvalidationEvent, ContinuousClock.Instant) -> Void

    func publish(_ scope: InvalidationMessage.Scope) async throws {
        try await base.publish(scope)
    }

    func run(deliver: @escaping @Sendable (InvalidationEvent) -> Void) async throws {
        try await base.run { [received] event in
            deliver(event)
            received(event, .now)
        }
    }
}

extension Duration {
    /// Milliseconds as a fraction, for reports.
    var milliseconds: Double { Double(cacheMicroseconds) / 1000 }
}
