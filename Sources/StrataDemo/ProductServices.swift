import Foundation
import NIOCore
import Redis
import Strata
import StrataRedis

/// What one application instance offers the workload: read a product, change a price.
protocol ProductService: Sendable {
    /// A short name for tables ("naive", "strata").
    var name: String { get }
    func product(id: Int) async throws -> Product?
    func updatePrice(id: Int, priceCents: Int) async throws
}

/// Cache-aside as it is usually written: GET, on a miss query and SET with a TTL, DEL after a
/// write. No in-process tier, no single-flight, no timeouts beyond the client's, no fail-safe.
struct NaiveCacheAside: ProductService {
    let client: any RedisCommandExecutor
    let catalog: ProductCatalog
    let timeToLive: Duration
    let timeline: Timeline
    var name: String { "naive cache-aside" }

    func product(id: Int) async throws -> Product? {
        let key = "naive:product:\(id)"
        if let buffer = try await client.get(key) {
            timeline.record(.redisHit)
            return try JSONDecoder().decode(Product.self, from: Data(buffer.readableBytesView))
        }
        guard let product = try await catalog.product(id: id) else { return nil }
        let bytes = try JSONEncoder().encode(product)
        try await client.set(key, to: ByteBuffer(bytes: bytes), expiration: .milliseconds(Int(timeToLive.cacheMilliseconds)))
        return product
    }

    func updatePrice(id: Int, priceCents: Int) async throws {
        try await catalog.updatePrice(id: id, priceCents: priceCents)
        try await client.delete("naive:product:\(id)")
    }
}

/// The same application on Strata: in-process tier, Redis tier with its own deadline and breaker,
/// single-flight, XFetch early refresh, stale-while-revalidate and fail-safe.
struct StrataProductService: ProductService {
    let cache: StrataCache
    let products: CacheNamespace<Product>
    let catalog: ProductCatalog
    let label: String
    var name: String { label }

    func product(id: Int) async throws -> Product? {
        try await cache.value(for: products.key(id)) { [catalog] in try await catalog.product(id: id) }
    }

    func updatePrice(id: Int, priceCents: Int) async throws {
        try await catalog.updatePrice(id: id, priceCents: priceCents)
        await cache.remove(products.key(id))
    }
}

/// Records cache events into the scenario's timeline (memory/Redis hits, stale served).
struct TimelineObserver: CacheObserver {
    let timeline: Timeline
    /// While this says "not ready", the instance takes no traffic and every event is its warm's:
    /// those are not requests' hits and are left out.
    var readiness: CacheReadiness?

    func record(_ event: CacheEvent) {
        if let readiness, !readiness.isReady { return }
        switch event {
        case .hit(.memory, _): timeline.record(.memoryHit)
        case .hit(.distributed, _): timeline.record(.redisHit)
        case .staleServed: timeline.record(.staleServed)
        default: break
        }
    }
}
