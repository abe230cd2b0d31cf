import Logging
import Redis
import RedisServerHarness
import Strata
import StrataRedis

/// Everything a scenario runs against: a Redis (private or given), the catalogue, and factories for
/// application instances, each with its own client, pool and in-process tier.
final class DemoEnvironment: Sendable {
    let redis: DemoRedis
    let ownServer: RedisServer?
    let catalog: ProductCatalog
    let configuration: DemoConfiguration
    /// Connections for admin commands (flush, pause) that are not the instances'.
    let admin: DemoRedisAdmin

    init(configuration: DemoConfiguration, catalog: ProductCatalog, redis: DemoRedis, ownServer: RedisServer?) async throws {
        self.configuration = configuration
        self.catalog = catalog
        self.redis = redis
        self.ownServer = ownServer
        admin = try await redis.makeAdmin()
    }

    static let quietLogger: Logger = {
        var logger = Logger(label: "strata.demo")
        logger.logLevel = .critical
        return logger
    }()

    /// The two setups every scenario compares.
    enum Setup: Sendable {
        case naive(timeToLive: Duration)
        case strata(label: String, options: CacheEntryOptions, memoryEntries: Int)
        /// Strata instances that track and publish hot keys and re-warm from them on demand.
        case strataWarming(label: String, options: CacheEntryOptions, memoryEntries: Int, warming: ColdStartWarming)
    }

    /// Starts `count` application instances of `setup`, runs `body` with them, then stops them.
    func withInstances<Result: Sendable>(
        _ setup: Setup, count: Int, timeline: Timeline,
        _ body: @Sendable ([any ProductService]) async throws -> Result
    ) async throws -> Result {
        var stacks: [DemoRedisStack] = []
        var extraConnections: [RedisClient] = []
        var caches: [StrataCache] = []
        var services: [any ProductService] = []
        for _ in 0..<count {
            let stack = try redis.makeStack()
            stacks.append(stack)
            switch setup {
            case .naive(let timeToLive):
                services.append(NaiveCacheAside(client: stack.executor, catalog: catalog, timeToLive: timeToLive, timeline: timeline))
            case .strata(let label, let options, let memoryEntries):
                let cache = try StrataCache(
                    configuration: .init(
                        memoryMaximumEntries: memoryEntries, observer: TimelineObserver(timeline: timeline),
                        logger: Self.quietLogger),
                    distributedTier: stack.tier)
                caches.append(cache)
                let namespace = try CacheNamespace<Product>("product", codec: JSONCacheCodec(), defaultOptions: options)
                services.append(StrataProductService(cache: cache, products: namespace, catalog: catalog, label: label))
            case .strataWarming(let label, let options, let memoryEntries, let warming):
                let hotKeys = HotKeyTracker.Configuration(keysPerNamespace: warming.hotKeys, sampleEvery: 1)
                let readiness = CacheReadiness(isReady: true)
                let cache = try StrataCache(
                    configuration: .init(
                        memoryMaximumEntries: memoryEntries, observer: TimelineObserver(timeline: timeline, readiness: readiness),
                        logger: Self.quietLogger, hotKeys: hotKeys),
                    distributedTier: stack.tier)
                caches.append(cache)
                guard let hotListClient = try redis.makeClient(database: Self.hotListDatabase) else {
                    throw DemoError("warming keeps its hot list in database \(Self.hotListDatabase), which a Cluster does not have")
                }
                extraConnections.append(hotListClient)
                let hotList = try RedisHotKeyStore(client: hotListClient, configuration: .init(keysPerNamespace: warming.hotKeys))
                let namespace = try CacheNamespace<Product>("product", codec: JSONCacheCodec(), defaultOptions: options)
                let instance = WarmingProductService(
                    inner: StrataProductService(cache: cache, products: namespace, catalog: catalog, label: label),
                    readiness: readiness,
                    publisher: HotKeyPublisher(tracker: cache.hotKeyTracker!, store: hotList, logger: Self.quietLogger),
                    hotList: hotList)
                warming.register(instance)
                services.append(instance)
            }
        }
        let runningConnections = stacks.flatMap(\.services) + extraConnections
        let runningCaches = caches
        let runningServices = services
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in runningConnections { group.addTask { try await connection.run() } }
            for cache in runningCaches { group.addTask { try await cache.run() } }
            defer { group.cancelAll() }
            return try await body(runningServices)
        }
    }

    /// Empties Redis so every run starts cold and equal.
    func flushRedis() async throws {
        try await admin.flushAll()
    }

    /// The database that holds published hot lists, apart from the cache data in database 0.
    static let hotListDatabase = 1

    /// Empties the cache data (database 0) and keeps the hot lists, as a cache restart does when
    /// the hot list lives in a store that survives it.
    func flushCacheData() async throws {
        try await admin.flushCacheDatabase()
    }

    /// Redis's `total_commands_processed` (summed over a cluster's primaries).
    func commandsProcessed() async throws -> Int {
        try await admin.commandsProcessed()
    }

    /// Makes Redis stop answering every client but the admin ones for `duration` (`CLIENT PAUSE`),
    /// which works on any Redis 6.2+, private or not.
    func pauseRedis(for duration: Duration) async throws {
        try await admin.pause(for: duration)
    }
}
