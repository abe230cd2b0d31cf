import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Strata
@testable import StrataHummingbird
import Testing

/// Every header the middleware writes, on `app.test(.router)`, with a manual clock.
@Suite struct HeaderRuleTests {
    @Test func aMissIsStoredAndTheNextRequestIsAHitWithTheSameValidators() async throws {
        let app = try TestApp()
        try await app.test { client in
            let miss = try await client.get("/products/7")
            #expect(miss.status == .ok)
            #expect(miss["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(miss["Cache-Control"] == "max-age=60, s-maxage=300, stale-while-revalidate=30, stale-if-error=600")
            #expect(miss["Age"] == nil)
            let etag = try #require(miss["ETag"])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 34)
            #expect(miss["Vary"] == "accept-language")
            let xkey = try #require(miss["xkey"]).split(separator: " ").map(String.init)
            #expect(xkey.contains("products") && xkey.contains("product-7"))
            #expect(xkey.contains { $0.hasPrefix("strata-uri-") })

            let hit = try await client.get("/products/7")
            #expect(hit.text == miss.text)
            #expect(hit["Cache-Status"] == "strata; hit; ttl=300")
            #expect(hit["Age"] == "0")
            #expect(hit["ETag"] == etag)
            #expect(app.calls["products"] == 1)
        }
    }

    @Test func ageCountsSecondsSinceTheResponseWasStored() async throws {
        let app = try TestApp()
        try await app.test { client in
            _ = try await client.get("/products/1")
            app.clock?.advance(by: .seconds(42))
            let hit = try await client.get("/products/1")
            #expect(hit["Age"] == "42")
            #expect(hit["Cache-Status"] == "strata; hit; ttl=258")
            #expect(app.calls["products"] == 1)
        }
    }

    @Test func ifNoneMatchIsAnsweredWith304AndTheValidators() async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get("/products/2")
            let etag = try #require(first["ETag"])
            for condition in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let response = try await client.get("/products/2", [.ifNoneMatch: condition])
                #expect(response.status == .notModified, "\(condition)")
                #expect(response.body.readableBytes == 0)
                #expect(response["ETag"] == etag)
                #expect(response["Cache-Control"] == first["Cache-Control"])
                #expect(response["Content-Type"] == nil)
            }
            let changed = try await client.get("/products/2", [.ifNoneMatch: "\"something-else\""])
            #expect(changed.status == .ok)
            #expect(app.calls["products"] == 1)
        }
    }

    @Test func theHandlerNeverSeesConditionalOrRangeHeaders() async throws {
        let app = try TestApp()
        try await app.test { client in
            let response = try await client.get("/products/3", [.ifNoneMatch: "*", .range: "bytes=0-1"])
            // The handler produced a full 200 (stored); the cache then answered the condition.
            #expect(response.status == .notModified)
            let full = try await client.get("/products/3")
            #expect(full.status == .ok && full.text.hasPrefix("product 3"))
            #expect(app.calls["products"] == 1)
        }
    }

    @Test func headIsAnsweredFromTheStoredGet() async throws {
        let app = try TestApp()
        try await app.test { client in
            let get = try await client.get("/products/4")
            let head = try await client.execute(uri: "/products/4", method: .head)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            #expect(head["ETag"] == get["ETag"])
            #expect(app.calls["products"] == 1)
        }
    }

    @Test(arguments: ["/private-handler", "/no-store"])
    func privateAndNoStoreResponsesKeepTheirHeadersAndAreNeverStored(path: String) async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get(path)
            let second = try await client.get(path)
            #expect(app.calls[String(path.dropFirst())] == 2)
            #expect(first["Cache-Control"] == (path == "/no-store" ? "no-store" : "private, max-age=60"))
            #expect(second["Cache-Status"]?.contains("fwd=miss; detail=") == true)
            #expect(app.tier.keys.isEmpty)
        }
    }

    @Test func setCookieResponsesAreNotStoredUnlessTheRouteOptsIn() async throws {
        let app = try TestApp()
        try await app.test { client in
            let refused = try await client.get("/cookie")
            _ = try await client.get("/cookie")
            #expect(app.calls["cookie"] == 2)
            #expect(refused["Cache-Control"] == "private, no-store")
            #expect(refused["Cache-Status"] == "strata; fwd=miss; detail=set-cookie")

            let optedIn = try await client.get("/cookie-opt-in")
            let replayed = try await client.get("/cookie-opt-in")
            #expect(app.calls["cookie-opt-in"] == 1)
            #expect(optedIn["Set-Cookie"] == "lb=1" && replayed["Set-Cookie"] == "lb=1")
        }
    }

    @Test func credentialedRequestsBypassTheCacheByDefault() async throws {
        let app = try TestApp()
        try await app.test { client in
            for credential: HTTPFields in [[.authorization: "Bearer alice"], [.cookie: "session=alice"]] {
                let response = try await client.get("/products/5", credential)
                #expect(response["Cache-Control"] == "private, no-store")
                #expect(response["Cache-Status"] == "strata; fwd=bypass; detail=credentials")
            }
            let anonymous = try await client.get("/products/5")
            #expect(anonymous["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(!anonymous.text.contains("cookie-seen"))
            // A credentialed request does not read the anonymous entry either.
            _ = try await client.get("/products/5", [.cookie: "session=bob"])
            #expect(app.calls["products"] == 4)
        }
    }

    @Test func credentialedRequestsStoreOnlyExplicitlyPublicResponses() async throws {
        let app = try TestApp()
        try await app.test { client in
            let notPublic = try await client.get("/shared", [.authorization: "Bearer alice"])
            #expect(notPublic["Cache-Control"] == "private, no-store")
            #expect(notPublic["Cache-Status"] == "strata; fwd=miss; detail=credentials")
            let explicit = try await client.get("/shared?public=1", [.authorization: "Bearer alice"])
            #expect(explicit["Cache-Status"] == "strata; fwd=miss; stored")
            #expect(explicit["Cache-Control"] == "public, max-age=60")
            let anonymous = try await client.get("/shared?public=1")
            #expect(anonymous["Cache-Status"]?.hasPrefix("strata; hit") == true)
            #expect(app.calls["shared"] == 2)
        }
    }

    @Test func errorsAreNeverStoredAndGoOutNoStore() async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get("/missing")
            let second = try await client.get("/missing")
            #expect(first.status == .notFound && second.status == .notFound)
            #expect(first["Cache-Control"] == "no-store")
            #expect(app.calls["missing"] == 2)
        }
    }

    @Test(arguments: ["/vary-undeclared", "/vary-star", "/big", "/bad-tag"])
    func responsesTheKeyCannotDescribeAreNotStored(path: String) async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get(path)
            _ = try await client.get(path)
            #expect(first.status == .ok)
            #expect(first["Cache-Control"] == "no-store")
            #expect(app.calls[String(path.dropFirst())] == 2)
        }
    }

    @Test func declaredVaryHeadersSelectSeparateEntries() async throws {
        let app = try TestApp()
        try await app.test { client in
            let english = try await client.get("/products/9", [.acceptLanguage: "en"])
            let french = try await client.get("/products/9", [.acceptLanguage: "fr"])
            let englishAgain = try await client.get("/products/9", [.acceptLanguage: "en"])
            let none = try await client.get("/products/9")
            #expect(english.text.contains("lang=en") && french.text.contains("lang=fr") && none.text.contains("lang=-"))
            #expect(englishAgain.text == english.text)
            #expect(app.calls["products"] == 3)
        }
    }

    @Test func onlyAllowListedQueryParametersSelectTheEntryOrReachTheHandler() async throws {
        let app = try TestApp()
        try await app.test { client in
            let first = try await client.get("/products/1?sort=name&page=2&utm_source=mail")
            #expect(first.text.contains("query=page=2&sort=name"))
            #expect(!first.text.contains("utm"))
            for uri in ["/products/1?page=2&sort=name", "/products/1?utm_campaign=x&sort=name&page=2", "/products/1?sort=n%61me&page=2"] {
                let again = try await client.get(uri)
                #expect(again.text == first.text, "\(uri)")
            }
            let other = try await client.get("/products/1?page=3&sort=name")
            #expect(other.text.contains("query=page=3&sort=name"))
            #expect(app.calls["products"] == 2)
        }
    }

    @Test func handlerTagsAreAddedAndTheInternalHeaderIsRemoved() async throws {
        let app = try TestApp { $0.surrogateKeyStyles = [.xkey, .surrogateKey, .cacheTag] }
        try await app.test { client in
            let response = try await client.get("/tagged")
            #expect(response["Strata-Tags"] == nil)
            let xkey = try #require(response["xkey"])
            #expect(xkey.hasPrefix("extra-1 extra-2 strata-uri-"))
            #expect(response["Surrogate-Key"] == xkey)
            #expect(response["Cache-Tag"] == xkey.replacingOccurrences(of: " ", with: ","))
        }
    }

    @Test func uncachedRoutesGoOutPrivateNoStoreUnlessTheySetCacheControl() async throws {
        let app = try TestApp()
        try await app.test { client in
            let health = try await client.get("/health")
            #expect(health["Cache-Control"] == "private, no-store")
            let css = try await client.get("/styles/site.css")
            #expect(css["Cache-Control"] == "public, max-age=60")
            let notFound = try await client.get("/nowhere")
            #expect(notFound.status == .notFound && notFound["Cache-Control"] == "private, no-store")
        }
    }

    @Test func uncachedRoutesCanAnswerConditionalRequestsToo() async throws {
        let app = try TestApp { $0.conditionalResponsesOnUncachedRoutes = true }
        try await app.test { client in
            let first = try await client.get("/health")
            let etag = try #require(first["ETag"])
            let second = try await client.get("/health", [.ifNoneMatch: etag])
            #expect(second.status == .notModified)
            #expect(app.calls["health"] == 2)
        }
    }
}
