// The example application of the "Edge caching" article (StrataHummingbird.docc/EdgeCaching.md).
// `ExampleAppTests` runs it and checks that the article shows exactly this code.
import HTTPTypes
import Hummingbird
import Redis
import Strata
import StrataHummingbird
import StrataRedis

// MARK: - Example

struct Product: ResponseCodable, Sendable {
    var id: Int
    var name: String
    var priceCents: Int
}

/// The source of truth (a database in a real application).
protocol Catalogue: Sendable {
    func product(id: Int) async throws -> Product?
    func save(_ product: Product) async throws
}

func makeEdgeApplication(redis: RedisClient, catalogue: some Catalogue, varnish: EdgeEndpoint, port: Int = 8080) throws
    -> some ApplicationProtocol
{
    // Strata: an in-process tier in front of Redis.
    let strata = try StrataCache(
        configuration: .init(memoryMaximumEntries: 50_000), distributedTier: try RedisCacheTier(client: redis))

    // The edge tier: responses in Strata, tags indexed in Redis, purges sent to Varnish.
    let responses = try ResponseCache(
        cache: strata, tagIndex: RedisResponseTagIndex(client: redis), purgers: [VarnishXkeyPurger(endpoint: varnish)])

    let router = Router(options: .autoGenerateHeadEndpoints)
    // Every route: deception checks, invalidation after writes, `private, no-store` by default.
    router.add(middleware: ResponseCacheMiddleware(cache: responses))

    // Cached routes: 30 s in browsers, 5 min in Varnish and Strata, stale windows for both.
    var products = ResponseCachePolicy(
        maxAge: .seconds(30), sharedMaxAge: .seconds(300), staleWhileRevalidate: .seconds(30),
        staleIfError: .seconds(3600), queryParameters: ["currency"], varyHeaders: [.acceptLanguage],
        tags: ["products"])
    products.requestTags = { _, parameters in ["product-\(parameters.get("id") ?? "")"] }
    products.memoryFreshFor = .seconds(5)  // other instances see invalidations within 5 s
    try router.cached(responses, policy: products, "/products").get("{id}") { _, context -> Product in
        let id = try context.parameters.require("id", as: Int.self)
        guard let product = try await catalogue.product(id: id) else { throw HTTPError(.notFound) }
        return product
    }

    // A write: the middleware invalidates `/products/{id}` after a 2xx; the tag reaches every
    // other response that shows this product (lists, search pages).
    router.put("/products/{id}") { request, context -> HTTPResponse.Status in
        let product = try await request.decode(as: Product.self, context: context)
        try await catalogue.save(product)
        await responses.invalidate(tags: ["product-\(product.id)"])
        return .noContent
    }

    // A private route: no policy, so it goes out `private, no-store` and is never cached.
    router.get("/account") { request, _ in "Hello, \(request.headers[.authorization] ?? "guest")" }

    return Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
        services: [redis, strata, responses])
}

// MARK: - End
