import HTTPTypes
import Hummingbird
import NIOCore
import RedisServerHarness
@testable import StrataHummingbird
import Synchronization
import Testing

/// The purgers against real HTTP servers on loopback (a Hummingbird app standing in for a CDN
/// API; the Varnish purger is exercised by ``VarnishEdgeTests``).
@Suite struct PurgerTests {
    final class Received: Sendable {
        let requests = Mutex<[(authorization: String?, contentType: String?, body: String)]>([])
    }

    /// Runs a fake purge API that requires `Bearer secret` and answers `status`.
    func withFakeAPI(status: HTTPResponse.Status = .ok, _ body: @Sendable (EdgeEndpoint, Received) async throws -> Void) async throws {
        let received = Received()
        let router = Router()
        router.post("/zones/z1/purge_cache") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 16))
            received.requests.withLock { $0.append((request.headers[.authorization], request.headers[.contentType], text)) }
            guard request.headers[.authorization] == "Bearer secret" else { return Response(status: .unauthorized) }
            return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "{\"success\":true}")))
        }
        let port = try RedisServer.freePort()
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in signal.yield() }, logger: TestApp.quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            for await _ in started { break }
            defer { group.cancelAll() }
            try await body(EdgeEndpoint(url: "http://127.0.0.1:\(port)/zones/z1/purge_cache")!, received)
        }
    }

    @Test func theHTTPAPIPurgerPostsTagsInChunksWithTheBearerToken() async throws {
        try await withFakeAPI { endpoint, received in
            let purger = HTTPAPIPurger(endpoint: endpoint, token: "secret", maximumTagsPerRequest: 2)
            try await purger.purge(tags: ["a", "b", "c", "d", "e"])
            let requests = received.requests.withLock { $0 }
            #expect(requests.map(\.body) == ["{\"tags\":[\"a\",\"b\"]}", "{\"tags\":[\"c\",\"d\"]}", "{\"tags\":[\"e\"]}"])
            #expect(requests.allSatisfy { $0.authorization == "Bearer secret" && $0.contentType == "application/json" })
        }
    }

    @Test func aRefusedPurgeThrowsWithoutTheToken() async throws {
        try await withFakeAPI { endpoint, _ in
            let purger = HTTPAPIPurger(endpoint: endpoint, token: "wrong-token-value")
            do {
                try await purger.purge(tags: ["a"])
                Issue.record("a 401 must fail the purge")
            } catch {
                #expect("\(error)".contains("401"))
                #expect(!"\(error)".contains("wrong-token-value"))
            }
        }
    }

    @Test func anUnreachableEdgeFailsWithinItsDeadline() async throws {
        let port = try RedisServer.freePort()
        let purger = VarnishXkeyPurger(endpoint: EdgeEndpoint(host: "127.0.0.1", port: port), timeout: .seconds(2))
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) { try await purger.purge(tags: ["a"]) }
        // A 2 s deadline against "forever": the bound is loose for a loaded 2-core box.
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
