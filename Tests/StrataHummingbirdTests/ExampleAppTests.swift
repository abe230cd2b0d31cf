import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Redis
import RedisServerHarness
import StrataHummingbird
import Synchronization
import Testing

/// The article's example application runs, against a real Redis, and the article shows it as is.
@Suite struct ExampleAppTests {
    final class MemoryCatalogue: Catalogue {
        private let products = Mutex<[Int: Product]>([1: Product(id: 1, name: "Kettle", priceCents: 2_500)])
        func product(id: Int) async throws -> Product? { products.withLock { $0[id] } }
        func save(_ product: Product) async throws { products.withLock { $0[product.id] = product } }
    }

    @Test(.timeLimit(.minutes(1))) func theExampleApplicationCachesInvalidatesAndKeepsAccountsPrivate() async throws {
        let server = try await RedisServer.shared(named: "strata-hummingbird")
        let redis = try RedisClient(
            configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: server.host, port: server.port)))
        let unreachableVarnish = EdgeEndpoint(host: "127.0.0.1", port: try RedisServer.freePort())
        let app = try makeEdgeApplication(redis: redis, catalogue: MemoryCatalogue(), varnish: unreachableVarnish)
        try await app.test(.router) { client in
            let first = try await client.execute(uri: "/products/1", method: .get)
            #expect(first.status == .ok)
            #expect(first.headers[.cacheControl] == "max-age=30, s-maxage=300, stale-while-revalidate=30, stale-if-error=3600")
            let second = try await client.execute(uri: "/products/1", method: .get)
            #expect(second.headers[HTTPField.Name("Cache-Status")!]?.hasPrefix("strata; hit") == true)

            let update = ByteBuffer(string: #"{"id":1,"name":"Kettle Pro","priceCents":3000}"#)
            let put = try await client.execute(uri: "/products/1", method: .put, headers: [.contentType: "application/json"], body: update)
            #expect(put.status == .noContent)
            let fresh = try await client.execute(uri: "/products/1", method: .get)
            #expect(String(buffer: fresh.body).contains("Kettle Pro"))

            let account = try await client.execute(uri: "/account", method: .get, headers: [.authorization: "Bearer alice"])
            #expect(account.headers[.cacheControl] == "private, no-store")
        }
    }

    @Test func theArticleShowsTheExampleVerbatim() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: tests.appendingPathComponent("ExampleApp.swift"), encoding: .utf8)
        let article = try String(
            contentsOf: tests.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Sources/StrataHummingbird/StrataHummingbird.docc/EdgeCaching.md"),
            encoding: .utf8)
        let start = try #require(source.range(of: "// MARK: - Example\n"))
        let end = try #require(source.range(of: "\n// MARK: - End"))
        let example = source[start.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(article.contains(example))
    }
}
