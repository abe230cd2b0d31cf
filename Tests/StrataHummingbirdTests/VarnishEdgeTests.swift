import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RedisServerHarness
import Strata
@testable import StrataHummingbird
import Testing

/// A real Varnish (with vmod xkey and the repository's `edge.vcl`) in front of a real
/// Hummingbird application on loopback.
@Suite(.serialized) struct VarnishEdgeTests {
    /// Starts the app (purging the edge) and Varnish in front of it; Varnish stops first, so
    /// no edge connection reaches an application that is shutting down.
    func withEdge(
        purgeEdge: Bool = true,
        _ body: @Sendable (TestApp, VarnishServer, EdgeEndpoint) async throws -> Void
    ) async throws {
        let appPort = try RedisServer.freePort()
        let varnishPort = try RedisServer.freePort()
        let purgers: [any EdgePurger] = purgeEdge ? [VarnishXkeyPurger(endpoint: EdgeEndpoint(host: "127.0.0.1", port: varnishPort))] : []
        let app = try TestApp(purgers: purgers)
        try await app.serve(port: appPort) {
            try await VarnishServer.withServer(port: varnishPort, backendPort: appPort) { varnish in
                try await body(app, varnish, EdgeEndpoint(host: "127.0.0.1", port: appPort))
            }
        }
    }

    func get(_ varnish: VarnishServer, _ path: String, _ headers: [(String, String)] = []) async throws -> EdgeHTTPClient.Response {
        try await EdgeHTTPClient().send(method: "GET", endpoint: varnish.endpoint, path: path, headers: headers, timeout: .seconds(30))
    }

    @Test(.timeLimit(.minutes(1))) func aMissThenAHitWithAgeAtTheEdge() async throws {
        try await withEdge { app, varnish, direct in
            let miss = try await get(varnish, "/products/1")
            #expect(miss.status == 200)
            #expect(miss["Strata-Edge"] == "MISS")
            #expect(miss["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(miss["xkey"] == nil)
            let hit = try await get(varnish, "/products/1")
            #expect(hit["Strata-Edge"] == "HIT")
            #expect(hit.bodyText == miss.bodyText)
            #expect(hit["Age"] != nil)
            #expect(app.calls["products"] == 1)

            // A response Strata has held for 42 s reaches the edge with its Age, and the edge
            // keeps counting from there (so it expires when Strata's copy does).
            _ = try await EdgeHTTPClient().send(
                method: "GET", endpoint: direct, path: "/products/2", headers: [("Host", "127.0.0.1:\(varnish.port)")], timeout: .seconds(10))
            app.clock?.advance(by: .seconds(42))
            let aged = try await get(varnish, "/products/2")
            #expect(aged["Strata-Edge"] == "MISS")
            #expect(Int(aged["Age"] ?? "") ?? 0 >= 42)
            let agedHit = try await get(varnish, "/products/2")
            #expect(agedHit["Strata-Edge"] == "HIT")
            #expect(Int(agedHit["Age"] ?? "") ?? 0 >= 42)
            #expect(app.calls["products"] == 2)
        }
    }

    @Test(.timeLimit(.minutes(1))) func purgingATagRemovesExactlyTheTaggedObjectsAtTheEdgeAndInStrata() async throws {
        try await withEdge { app, varnish, _ in
            for path in ["/products/1", "/products/2", "/pages/about"] {
                #expect(try await get(varnish, path)["Strata-Edge"] == "MISS")
                #expect(try await get(varnish, path)["Strata-Edge"] == "HIT")
            }
            let report = await app.responses.invalidate(tags: ["product-1"])
            #expect(report.isComplete && report.removedEntries == 1)

            let purged = try await get(varnish, "/products/1")
            #expect(purged["Strata-Edge"] == "MISS")
            #expect(purged["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(try await get(varnish, "/products/2")["Strata-Edge"] == "HIT")
            #expect(try await get(varnish, "/pages/about")["Strata-Edge"] == "HIT")
            #expect(app.calls["products"] == 3 && app.calls["pages"] == 1)

            // A successful POST through the edge invalidates its URI in Strata at once and at
            // the edge through the queued purge.
            let update = try await EdgeHTTPClient().send(method: "POST", endpoint: varnish.endpoint, path: "/products/2", timeout: .seconds(10))
            #expect(update.status == 204)
            let edgeMiss = try await eventually { try await get(varnish, "/products/2")["Strata-Edge"] == "MISS" }
            #expect(edgeMiss)
            #expect(try await get(varnish, "/pages/about")["Strata-Edge"] == "HIT")
        }
    }

    @Test(.timeLimit(.minutes(1))) func staleIfErrorKeepsServingWhileTheAppAnswers5xx() async throws {
        try await withEdge { app, varnish, direct in
            let good = try await get(varnish, "/flash/1")
            #expect(good.status == 200 && good["Strata-Edge"] == "MISS")
            #expect(good["Cache-Control"] == "max-age=1, stale-if-error=600")
            app.switches.failing = true
            // Strata's own copy is now far past its windows: the app itself answers 500.
            app.clock?.advance(by: .seconds(100_000))
            let origin = try await EdgeHTTPClient().send(method: "GET", endpoint: direct, path: "/flash/1", timeout: .seconds(10))
            #expect(origin.status == 500)
            // Let the edge object pass its one-second TTL (real time).
            try await Task.sleep(for: .milliseconds(1500))
            let callsBefore = app.calls["flash"]
            let stale = try await get(varnish, "/flash/1")
            #expect(stale.status == 200)
            #expect(stale.bodyText == good.bodyText)
            #expect(app.calls["flash"] > callsBefore, "the edge asked the origin before serving stale")
            app.switches.failing = false
        }
    }

    @Test(.timeLimit(.minutes(1))) func privateResponsesNeverBecomeEdgeHits() async throws {
        try await withEdge(purgeEdge: false) { app, varnish, _ in
            let paths = ["/account", "/account/profile", "/me/orders", "/account/x.css", "/account%2Fx.css", "/account;x.css", "/account/./x.css", "/me/orders/x.js"]
            for path in paths {
                for cookie in [[("Cookie", "session=victim")], []] {
                    let first = try await get(varnish, path, cookie)
                    let second = try await get(varnish, path, cookie)
                    #expect(first["Strata-Edge"] == "MISS" && second["Strata-Edge"] == "MISS", "\(path)")
                    #expect(!second.bodyText.contains("victim") || !cookie.isEmpty, "\(path)")
                }
            }
            // Credentialed requests pass the edge even on cached routes.
            _ = try await get(varnish, "/products/1", [("Authorization", "Bearer x")])
            #expect(try await get(varnish, "/products/1", [("Authorization", "Bearer x")])["Strata-Edge"] == "MISS")
            #expect(app.calls["private"] >= 6)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aVarnishThatCannotStartFailsWithItsLogInsteadOfHanging() async throws {
        do {
            let server = try await VarnishServer.start(backendPort: 1, vcl: "vcl 4.1;\nsub vcl_recv { this is not vcl }\n")
            await server.stop()
            Issue.record("varnishd started with a broken VCL")
        } catch let failure as VarnishServer.StartFailure {
            #expect(failure.description.contains("exited during start-up"))
            #expect(failure.description.contains("VCC"))
        }
    }
}
