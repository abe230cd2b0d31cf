import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Strata
@testable import StrataHummingbird
import Testing

/// Stale-while-revalidate and stale-if-error (RFC 5861) come from Strata's entry options.
@Suite struct StalenessTests {
    @Test func staleWhileRevalidateAnswersAtOnceAndRefreshesOnceInTheBackground() async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get("/products/1")
            app.clock?.advance(by: .seconds(310))
            let stale = try await client.get("/products/1")
            #expect(stale.text == first.text)
            #expect(stale["Age"] == "310")
            #expect(stale["Cache-Status"] == "strata; hit; ttl=-10")
            #expect(await eventually { app.calls["products"] == 2 })
            let refreshed = try await eventually { try await client.get("/products/1").text.contains("call=2") }
            #expect(refreshed)
            #expect(app.calls["products"] == 2)
        }
    }

    @Test(arguments: [false, true])
    func staleIfErrorServesTheLastGoodResponseWhileTheHandlerFails(throwing: Bool) async throws {
        let app = try TestApp()
        try await app.test { client in
            let good = try await client.get("/products/2")
            if throwing { app.switches.throwing = true } else { app.switches.failing = true }
            app.clock?.advance(by: .seconds(400))
            let served = try await client.get("/products/2")
            #expect(served.status == .ok)
            #expect(served.text == good.text)
            #expect(served["Age"] == "400")
            #expect(app.calls["products"] == 2)
            // The fail-safe throttle keeps the failing handler from being called on every request.
            _ = try await client.get("/products/2")
            #expect(app.calls["products"] == 2)
        }
    }

    @Test func pastTheStaleIfErrorWindowTheFailureReachesTheClient() async throws {
        let app = try TestApp()
        try await app.test { client in
            _ = try await client.get("/products/3")
            app.switches.failing = true
            app.clock?.advance(by: .seconds(901))
            let failed = try await client.get("/products/3")
            #expect(failed.status == .internalServerError)
            #expect(failed["Cache-Control"] == "no-store")
            #expect(failed["Cache-Status"] == "strata; fwd=miss; detail=origin-error")
        }
    }

    @Test func withoutAStoredCopyA5xxPassesThroughAndIsNotStored() async throws {
        let app = try TestApp()
        try await app.test { client in
            app.switches.failing = true
            let failed = try await client.get("/products/4")
            #expect(failed.status == .internalServerError)
            #expect(failed.text == "down")
            app.switches.failing = false
            let recovered = try await client.get("/products/4")
            #expect(recovered["Cache-Status"] == "strata; fwd=miss; stored")
            app.switches.throwing = true
            let thrown = try await client.get("/products/5")
            #expect(thrown.status == .internalServerError)
        }
    }
}
