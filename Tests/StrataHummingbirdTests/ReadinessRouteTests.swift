import Hummingbird
import HummingbirdTesting
import Strata
import StrataHummingbird
import Testing

/// The readiness probe answers 503 while the cache warms and 200 once it is ready.
@Suite struct ReadinessRouteTests {
    @Test func theProbeSaysUnavailableUntilTheWarmHasMarkedTheCacheReady() async throws {
        let readiness = CacheReadiness()
        let cache = try StrataCache()
        let items = try CacheNamespace<String>("item", codec: StringCacheCodec())
        let warming = CacheWarmingService(readiness: readiness, jobs: [
            .keys(cache: cache, namespace: items, keys: [items.key(1), items.key(2)]) { key in "value \(key.parts[0])" },
        ])
        let router = Router()
        router.addReadinessRoute(path: "/ready", readiness: readiness)
        let app = Application(router: router)
        try await app.test(.router) { client in
            let warming503 = try await client.execute(uri: "/ready", method: .get)
            #expect(warming503.status == .serviceUnavailable)
            #expect(warming503.headers[.cacheControl] == "no-store")
            await warming.warmAndMarkReady()
            #expect(try await client.execute(uri: "/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/ready", method: .head).status == .ok)
            readiness.markNotReady()
            #expect(try await client.execute(uri: "/ready", method: .get).status == .serviceUnavailable)
        }
        #expect(try await cache.cachedValue(for: items.key(2)) == "value 2")
    }
}
