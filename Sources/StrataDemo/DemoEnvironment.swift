import Logging
import Redis
import RedisServerHarness
import Strata
import StrataRedis

/// Everything a scenario runs against: a Redis (private or given), the catalogue, and factories for
/// application instances, each with its own client, pool and in-process tier.
final class DemoEnvironment: Sendable {
    let redisEndpoint: RedisEndpoint
    let ownServer: RedisServer?
    let catalog: ProductCatalog
    let configuration: DemoConfiguration
    /// A connection for admin commands (flush, pause) that is not one of the instances'.
    let admin: RedisClient

    init(configuration: DemoConfiguration, catalog: ProductCatalog, redisEndpoint: RedisEndpoint, ownServer: RedisServer?) throws {
        self.configuration = configuration
        self.catalog = catalog
        self.redisEndpoint = redisEndpoint
        self.ownServer = ownServer
        admin = try RedisClient(configuration: RedisConnectionConfiguration(endpoint: redisEndpoint), logger: Self.quietLogger)
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
        var clients: [RedisClient] = []
        var caches: [StrataCache] = []
        var services: [any ProductService] = []
        for _ in 0..<count {
            let client = try RedisClient(
                configuration: RedisConnectionConfiguration(endpoint: redisEndpoint), logger: Self.quietLogger)
            clients.append(client)
            switch setup {
            case .naive(let timeToLive):
                services.append(NaiveCacheAside(client: client, catalog: catalog, timeToLive: timeToLive, timeline: timeline))
            case .strata(let label, let options, let memoryEntries):
                let cache = try StrataCache(
                    configuration: .init(
                        memoryMaximumEntries: memoryEntries, observer: TimelineObserver(timeline: timeline),
                        logger: Self.quietLogger),
                    distributedTier: try RedisCacheTier(client: client))
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
                    distributedTier: try RedisCacheTier(client: client))
                caches.append(cache)
                let hotListClient = try RedisClient(
                    configuration: RedisConnectionConfiguration(endpoint: redisEndpoint, database: Self.hotListDatabase),
                    logger: Self.quietLogger)
                clients.append(hotListClient)
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
        let runningClients = clients
        let runningCaches = caches
        let runningServices = services
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in runningClients { group.addTask { try await client.run() } }
            for cache in runningCaches { group.addTask { try await cache.run() } }
            defer { group.cancelAll() }
            return try await body(runningServices)
        }
    }

    /// Empties Redis so every run starts cold and equal.
    func flushRedis() async throws {
        _ = try await admin.rawValue(["FLUSHALL"])
    }

    /// The database that holds published hot lists, apart from the cache data in database 0.
    static let hotListDatabase = 1

    /// Empties the cache data (database 0) and keeps the hot lists, as a cache restart does when
    /// the hot list lives in a store that survives it.
    func flushCacheData() async throws {
        _ = try await admin.rawValue(["FLUSHDB"])
    }

    /// Redis's `total_commands_processed`, to count round trips per request.
    func commandsProcessed() async throws -> Int {
        let info = try await admin.rawValue(["INFO", "stats"])
        let text: String = switch info {
        case .bulkString(let buffer): String(buffer: buffer)
        case .verbatimString(_, let text): text
        default: ""
        }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("total_commands_processed:") {
            return Int(line.dropFirst("total_commands_processed:".count)) ?? 0
        }
        return 0
    }

    /// Makes Redis stop answering every client but the admin one for `duration` (`CLIENT PAUSE`),
    /// which works on any Redis 6.2+, private or not.
    func pauseRedis(for duration: Duration) async throws {
        _ = try await admin.rawValue(["CLIENT", "PAUSE", "\(duration.cacheMilliseconds)", "ALL"])
    }
}
