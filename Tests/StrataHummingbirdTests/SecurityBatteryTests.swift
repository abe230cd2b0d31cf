import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Strata
@testable import StrataHummingbird
import Testing

/// The attacks that hit real CDNs, as batteries: cache poisoning through unkeyed inputs, and
/// web cache deception through ambiguous paths.
@Suite struct SecurityBatteryTests {
    /// For every unkeyed header: an attacker's request fills the cache, then a clean request
    /// reads it. Neither response (nor the stored entry) may carry the attacker's input.
    @Test(arguments: ResponseCache.Configuration.defaultStrippedRequestHeaders)
    func anUnkeyedHeaderNeverReachesACachedResponse(header: HTTPField.Name) async throws {
        let app = try TestApp()
        try await app.test { client in
            let attack = try await client.get("/products/11", [header: "evil.example"])
            let clean = try await client.get("/products/11")
            #expect(!attack.text.contains("evil"))
            #expect(!clean.text.contains("evil"))
            #expect(clean.text == attack.text)
            #expect(!app.tier.anyEntryContains("evil"))
        }
    }

    @Test func aHeaderTheRouteKeysOnReachesTheHandlerAndSplitsTheCache() async throws {
        let app = try TestApp()
        let proto = HTTPField.Name("X-Forwarded-Proto")!
        try await app.test { client in
            let http = try await client.get("/scheme", [proto: "http"])
            let clean = try await client.get("/scheme")
            let https = try await client.get("/scheme", [proto: "https"])
            #expect(http.text == "scheme=http" && clean.text == "scheme=-" && https.text == "scheme=https")
            #expect(http["Vary"] == "x-forwarded-proto")
            #expect(app.calls["scheme"] == 3)
        }
    }

    @Test func unlistedQueryParametersNeverReachTheHandler() async throws {
        let app = try TestApp()
        try await app.test { client in
            let attack = try await client.get("/products/12?callback=%3Cscript%3E&page=1")
            let clean = try await client.get("/products/12?page=1")
            #expect(!attack.text.contains("script") && !clean.text.contains("script"))
            #expect(clean.text == attack.text)
        }
    }

    @Test func aSafeRequestWithABodyIsRefusedOnCachedRoutes() async throws {
        let app = try TestApp()
        try await app.test { client in
            let withLength = try await client.execute(
                uri: "/products/13", method: .get, headers: [.contentLength: "5"], body: ByteBuffer(string: "evil!"))
            #expect(withLength.status == .badRequest)
            let chunked = try await client.execute(uri: "/products/13", method: .get, headers: [.transferEncoding: "chunked"])
            #expect(chunked.status == .badRequest)
            #expect(app.calls["products"] == 0)
        }
    }

    @Test func hostsOutsideTheAllowListAreRefused() async throws {
        let app = try TestApp { $0.allowedHosts = ["shop.example"] }
        try await app.test { client in
            // The router test client always sends `localhost`.
            let response = try await client.get("/products/1")
            #expect(response.status == .badRequest)
        }
    }

    static let privateBases = ["/account", "/account/profile", "/me/orders", "/users/42/settings"]

    /// Paths a CDN might read as a static file, or that different components split differently.
    static func deceptionVariants(of base: String) -> [String] {
        [
            base + "/x.css", base + "/nonexistent.js", base + "/logo.png", base + "%2Fx.css", base + "%2fx.css",
            base + ";x.css", base + ";jsessionid=1", base + "/..%2Fx.css", base + "/./x.css", base + "/../x.css",
            "/" + base, base + "//x.css", base + "%23.css", base + "%3F.css", base + "%2E.css", base + "/%2E%2E/x.css",
            base + "%00.css", base + "%252Fx.css", base + "\\x.css",
        ]
    }

    /// For each private route and each deception variant: a victim's request (with a session)
    /// and then an attacker's (without). No response is ever stored in Strata, none is
    /// cacheable by an edge, and the attacker never sees the victim's data.
    @Test(arguments: privateBases)
    func noDeceptionVariantOfAPrivateRouteIsEverCached(base: String) async throws {
        let app = try TestApp()
        try await app.test { client in
            let victimPage = try await client.get(base, [.cookie: "session=victim"])
            #expect(victimPage.text.contains("SECRET for session=victim"))
            #expect(victimPage["Cache-Control"] == "private, no-store")
            for variant in Self.deceptionVariants(of: base) {
                let victim = try await client.get(variant, [.cookie: "session=victim"])
                let attacker = try await client.get(variant)
                for response in [victim, attacker] {
                    let control = CacheControl(parsing: response.headers[values: .cacheControl])
                    #expect(control.noStore, "\(variant) → \(response.status)")
                }
                #expect(!attacker.text.contains("victim"), "\(variant)")
            }
            #expect(app.calls["products"] == 0)
            #expect(!app.tier.anyEntryContains("SECRET"))
            #expect(app.tier.keys.isEmpty)
        }
    }

    @Test func aStaticSuffixCapturedByACachedWildcardIsRefused() async throws {
        let app = try TestApp()
        try await app.test { client in
            #expect(try await client.get("/pages/about")["Cache-Status"] == "strata; fwd=miss; stored")
            let disguised = try await client.get("/pages/about/x.css")
            #expect(disguised.status == .notFound)
            #expect(app.calls["pages"] == 1)
            // A route whose own pattern ends in the suffix serves it normally.
            #expect(try await client.get("/styles/site.css").status == .ok)
        }
    }

    @Test func withDoNotCacheAmbiguousPathsAreServedButNeverStored() async throws {
        let app = try TestApp { $0.ambiguousPaths = .doNotCache }
        try await app.test { client in
            let response = try await client.get("/pages/a;b")
            #expect(response.status == .ok)
            #expect(response["Cache-Control"] == "private, no-store")
            _ = try await client.get("/pages/a;b")
            #expect(app.calls["pages"] == 2)
            #expect(app.tier.keys.isEmpty)
        }
    }
}
