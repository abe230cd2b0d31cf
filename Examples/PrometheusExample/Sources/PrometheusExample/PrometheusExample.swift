import Foundation
import Hummingbird
import Metrics
import Prometheus
import Redis
import ServiceLifecycle
import Strata
import StrataRedis

/// A Hummingbird app with a Strata cache over Redis, exporting every Strata metric on `/metrics`:
/// the cache's (MetricsCacheObserver), the Redis client pool's (RedisMetrics) and the Redis
/// server's (RedisHealth), rendered by swift-prometheus.
///
///     REDIS_URL=redis://127.0.0.1:6379 swift run PrometheusExample
///     curl localhost:8080/products/42     # a miss, then hits
///     curl localhost:8080/metrics
@main
struct PrometheusExample {
    static func main() async throws {
        // Bootstrap first: instruments are bound to the factory that exists when they are made.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let environment = ProcessInfo.processInfo.environment
        let url = environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
        guard let redisConfiguration = RedisConnectionConfiguration(url: url) else {
            fatalError("REDIS_URL must look like redis://host:port")
        }
        let port = environment["PORT"].flatMap { Int($0) } ?? 8080

        let redis = try RedisClient(configuration: redisConfiguration)
        var tier = try RedisCacheTier(client: redis)
        // READ_SAMPLE=/tmp/reads.sample records one read in READ_SAMPLE_ONE_IN (default 10) for
        // `strata warm replay`.
        var services: [any Service] = []
        if let path = environment["READ_SAMPLE"] {
            let oneIn = environment["READ_SAMPLE_ONE_IN"].flatMap { Int($0) } ?? 10
            let recorder = try ReadSampleRecorder(configuration: .init(path: path, oneIn: oneIn))
            tier = tier.recordingReads(into: recorder)
            services.append(recorder)
        }
        let cache = try StrataCache(
            configuration: .init(memoryMaximumEntries: 1_000, observer: MetricsCacheObserver()),
            distributedTier: tier)
        let health = RedisHealth(executor: redis, configuration: .init(interval: .seconds(5)))
        let statistics = CacheStatisticsPublisher(
            cache: cache, executor: redis, configuration: .init(instance: environment["INSTANCE"] ?? "prometheus-example", interval: .seconds(2)))
        let products = try CacheNamespace<String>(
            "products", codec: StringCacheCodec(),
            defaultOptions: CacheEntryOptions(freshFor: .seconds(10)))

        let router = Router()
        router.get("/products/:id") { _, context -> String in
            let id = try context.parameters.require("id")
            let product = try await cache.value(for: products.key(id)) {
                try await Task.sleep(for: .milliseconds(20))  // the "database"
                return Int(id).map { "product \($0)" }
            }
            guard let product else { throw HTTPError(.notFound) }
            return product
        }
        router.get("/metrics") { _, _ -> String in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }

        var app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        app.addServices(redis, cache, health, statistics)
        app.addServices(services)
        try await app.runService()
    }
}
