import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Strata
@testable import StrataHummingbird
import Testing

/// One handler call per key however many requests arrive, and no request ever receives a
/// response that was not stored from another request's load.
@Suite struct SingleFlightTests {
    @Test(.timeLimit(.minutes(1))) func concurrentMissesShareOneHandlerCall() async throws {
        let app = try TestApp()
        try await app.test { client in
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 { group.addTask { try await client.get("/products/77").text } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(bodies.count == 1)
            #expect(app.calls["products"] == 1)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aRequestThatJoinedAnUncacheableLoadRunsTheHandlerItself() async throws {
        let app = try TestApp()
        try await app.test { client in
            async let leader = client.get("/slow", [.authorization: "Bearer alice"])
            #expect(await eventually { app.calls["slow-started"] == 1 })
            async let joiner = client.get("/slow")
            #expect(await eventually { app.strata.statistics().singleFlightJoins == 1 })
            app.gate.open()
            let (alice, anonymous) = try await (leader, joiner)
            #expect(alice.text == "for Bearer alice")
            #expect(alice["Cache-Control"] == "private, no-store")
            #expect(anonymous.text == "for anonymous")
            #expect(anonymous["Cache-Status"] == "strata; fwd=bypass; detail=joined-uncacheable-load")
            #expect(app.calls["slow"] == 2)
        }
    }
}
