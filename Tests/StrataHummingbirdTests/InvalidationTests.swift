import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import Strata
@testable import StrataHummingbird
import Synchronization
import Testing

/// A purger that records what it was asked and fails its first `failures` attempts.
final class RecordingPurger: EdgePurger {
    let name: String
    private let state: Mutex<(remainingFailures: Int, purged: [[String]], attempts: Int)>

    init(name: String = "recording", failures: Int = 0) {
        self.name = name
        state = Mutex((failures, [], 0))
    }

    func purge(tags: [String]) async throws {
        let fail = state.withLock { state in
            state.attempts += 1
            guard state.remainingFailures == 0 else {
                state.remainingFailures -= 1
                return true
            }
            state.purged.append(tags)
            return false
        }
        if fail { throw ResponseCacheError(.purgeFailed, "injected failure") }
    }

    var purged: [[String]] { state.withLock { $0.purged } }
    var attempts: Int { state.withLock { $0.attempts } }
}

/// Tag invalidation (Strata tiers and edge) and unsafe-method invalidation.
@Suite struct InvalidationTests {
    @Test func invalidatingATagRemovesExactlyItsEntriesFromBothTiers() async throws {
        let purger = RecordingPurger()
        let app = try TestApp(purgers: [purger])
        try await app.test { client in
            _ = try await client.get("/products/1")
            _ = try await client.get("/products/2")
            _ = try await client.get("/tagged")
            #expect(app.tier.keys.count == 3)
            let report = await app.responses.invalidate(tags: ["product-1"])
            #expect(report.removedEntries == 1 && report.isComplete)
            #expect(app.tier.keys.count == 2)
            #expect(purger.purged == [["product-1"]])
            #expect(try await client.get("/products/1")["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(try await client.get("/products/2")["Cache-Status"]?.hasPrefix("strata; hit") == true)
            #expect(try await client.get("/tagged")["Cache-Status"]?.hasPrefix("strata; hit") == true)

            let shared = await app.responses.invalidate(tags: ["products"])
            #expect(shared.removedEntries == 2)
            #expect(app.tier.keys.count == 1)
            #expect(app.calls["products"] == 3)
        }
    }

    @Test func aSuccessfulUnsafeRequestInvalidatesEveryVariantOfItsTarget() async throws {
        let purger = RecordingPurger()
        let app = try TestApp(purgers: [purger])
        try await app.test { client in
            _ = try await client.get("/products/1")
            _ = try await client.get("/products/1?page=2")
            _ = try await client.get("/products/1", [.acceptLanguage: "fr"])
            _ = try await client.get("/products/10")
            let update = try await client.execute(uri: "/products/1", method: .post)
            #expect(update.status == .noContent)
            for (uri, headers) in [("/products/1", HTTPFields()), ("/products/1?page=2", [:]), ("/products/1", [.acceptLanguage: "fr"])] {
                #expect(try await client.get(uri, headers)["Cache-Status"] == "strata; fwd=miss; stored", "\(uri)")
            }
            #expect(try await client.get("/products/10")["Cache-Status"]?.hasPrefix("strata; hit") == true)
            // The edge purge of the URI tag is queued for ResponseCache.run().
            #expect(await eventually { purger.purged.count == 1 })
            #expect(purger.purged.first?.first?.hasPrefix("strata-uri-") == true)
        }
    }

    @Test func sameOriginLocationIsInvalidatedAndOtherOriginsAreNot() async throws {
        let app = try TestApp()
        try await app.test { client in
            for id in 2...4 { _ = try await client.get("/products/\(id)") }
            _ = try await client.execute(uri: "/products/1?location=/products/2", method: .post)
            _ = try await client.execute(uri: "/products/1?location=http://localhost/products/3", method: .post)
            _ = try await client.execute(uri: "/products/1?location=http://other.example/products/4", method: .post)
            #expect(try await client.get("/products/2")["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(try await client.get("/products/3")["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(try await client.get("/products/4")["Cache-Status"]?.hasPrefix("strata; hit") == true)
        }
    }

    @Test func aFailedUnsafeRequestInvalidatesNothing() async throws {
        let app = try TestApp()
        try await app.test { client in
            _ = try await client.get("/products/1")
            let failed = try await client.execute(uri: "/products/1?fail=1", method: .post)
            #expect(failed.status == .conflict)
            #expect(try await client.get("/products/1")["Cache-Status"]?.hasPrefix("strata; hit") == true)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFillThatStartedBeforeAnInvalidationIsServedButNotStored() async throws {
        let app = try TestApp()
        try await app.test { client in
            async let slow = client.get("/slow")
            #expect(await eventually { app.calls["slow-started"] == 1 })
            await app.responses.invalidate(tags: ["anything"])
            app.gate.open()
            let response = try await slow
            #expect(response.text == "for anonymous")
            #expect(response["Cache-Status"] == "strata; fwd=miss; detail=invalidated-while-loading")
            #expect(try await client.get("/slow")["Cache-Status"] == "strata; fwd=miss; stored")
        }
    }

    @Test func edgePurgesAreRetriedAndFinalFailuresAreCounted() async throws {
        let metrics = TestMetrics()
        let flaky = RecordingPurger(name: "flaky", failures: 2)
        let broken = RecordingPurger(name: "broken", failures: .max)
        let app = try TestApp(manualClock: false, purgers: [flaky, broken]) { configuration in
            configuration.metrics = ResponseCacheMetrics(factory: metrics)
            configuration.purgeRetry = PurgeRetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(1), maximumDelay: .milliseconds(5))
        }
        let report = await app.responses.invalidate(tags: ["products", "not a valid tag"])
        #expect(report.failedPurgers == ["broken"])
        #expect(!report.isComplete)
        #expect(flaky.purged == [["products"]])
        #expect(flaky.attempts == 3 && broken.attempts == 3)
        #expect(try metrics.expectCounter("strata.http.purge.failures", [("purger", "broken")]).totalValue == 1)
        #expect(try metrics.expectCounter("strata.http.purge.retries", [("purger", "flaky")]).totalValue == 2)
        #expect(try metrics.expectCounter("strata.http.purge.failures", [("purger", "flaky")]).totalValue == 0)
    }

    @Test func retryDelaysGrowExponentiallyWithFullJitterAndACap() {
        let policy = PurgeRetryPolicy(maximumAttempts: 6, initialDelay: .milliseconds(100), maximumDelay: .milliseconds(350))
        #expect(policy.delay(beforeAttempt: 1, random: 0.99) == .zero)
        #expect(policy.delay(beforeAttempt: 2, random: 1) == .milliseconds(100))
        #expect(policy.delay(beforeAttempt: 3, random: 1) == .milliseconds(200))
        #expect(policy.delay(beforeAttempt: 4, random: 1) == .milliseconds(350))
        #expect(policy.delay(beforeAttempt: 4, random: 0.5) == .milliseconds(175))
        #expect(policy.delay(beforeAttempt: 60, random: 0) == .zero)
    }
}
