import Strata
@testable import StrataHummingbird
import Testing

/// The sans-I/O pieces: parsing, keys, path safety, the entry codec.
@Suite struct HTTPRuleUnitTests {
    @Test func cacheControlParsesListsQuotesAndCase() {
        let control = CacheControl(parsing: ["Public, MAX-AGE=60", "s-maxage=\"120\", private=\"Set-Cookie, X\", stale-if-error=x"])
        #expect(control.isPublic && control.isPrivate)
        #expect(control.seconds("max-age") == 60)
        #expect(control.seconds("s-maxage") == 120)
        #expect(control.seconds("stale-if-error") == nil)
        #expect(control.directives.count == 5)
        let rendered = CacheControl([.init("max-age", "5"), .init("no-cache", "Set-Cookie, X")]).fieldValue
        #expect(rendered == "max-age=5, no-cache=\"Set-Cookie, X\"")
    }

    @Test func entityTagsAreFNV1a128() {
        // Published FNV-1a 128-bit test vectors.
        #expect(EntityTag.strong(for: []) == "\"6c62272e07bb014262b821756295c58d\"")
        #expect(EntityTag.strong(for: Array("a".utf8)) == "\"d228cb696f1a8caf78912b704e4a8964\"")
        #expect(EntityTag.strong(for: Array("foobar".utf8)) == "\"343e1662793c64bf6f0d3597ba446f18\"")
    }

    @Test func ambiguousPathsAreRecognised() {
        let cases: [(String, PathSafety.Ambiguity?)] = [
            ("/account", nil), ("/a/b-c_d.~e", nil), ("/caf%C3%A9", nil), ("/a%20b", nil),
            ("/a%2Fb", .encodedDelimiter), ("/a%2fb", .encodedDelimiter), ("/a%5Cb", .encodedDelimiter),
            ("/a%3f", .encodedDelimiter), ("/a%23", .encodedDelimiter), ("/a%2E%2E/b", .encodedDelimiter),
            ("/a%252F", .encodedDelimiter), ("/a%", .encodedDelimiter), ("/a%zz", .encodedDelimiter),
            ("/a;b", .pathParameter), ("/a/../b", .dotSegment), ("/a/.", .dotSegment), ("//a", .emptySegment),
            ("/a//b", .emptySegment), ("/a\\b", .backslash), ("/a b", .controlOrNonASCII), ("/é", .controlOrNonASCII),
            ("a/b", .notAbsolute), ("*", .notAbsolute),
        ]
        for (path, expected) in cases {
            #expect(PathSafety.ambiguity(ofRawPath: path) == expected, "\(path)")
        }
    }

    @Test func staticSuffixesAreRefusedOnlyWhereTheRouteCapturedThem() {
        let extensions = PathSafety.defaultStaticExtensions
        #expect(PathSafety.hasStaticSuffixOnDynamicRoute(path: "/account/x.css", routePattern: "/account/{section}", extensions: extensions))
        #expect(PathSafety.hasStaticSuffixOnDynamicRoute(path: "/me/a/b.JS", routePattern: "/me/**", extensions: extensions))
        #expect(!PathSafety.hasStaticSuffixOnDynamicRoute(path: "/styles/site.css", routePattern: "/styles/{name}.css", extensions: extensions))
        #expect(!PathSafety.hasStaticSuffixOnDynamicRoute(path: "/robots.txt", routePattern: "/robots.txt", extensions: extensions))
        #expect(!PathSafety.hasStaticSuffixOnDynamicRoute(path: "/users/a.b", routePattern: "/users/{id}", extensions: extensions))
    }

    @Test func keysNormaliseHostAndQueryButNeverThePath() throws {
        func key(_ host: String, _ path: String, _ query: String?, vary: [(String, String?)] = []) throws -> ResponseCacheKey {
            try #require(ResponseCacheKey.make(
                route: "/p/{id}", host: host, path: path, query: query, allowedQuery: ["a", "b"],
                varyValues: vary.map { (name: $0.0, value: $0.1) }, maximumLength: 2048))
        }
        let base = try key("Shop.Example.", "/p/1", "b=2&a=1&z=9")
        #expect(base.target == "/p/1?a=1&b=2")
        #expect(base.text == "GET\n/p/{id}\nshop.example\n/p/1\na=1&b=2")
        #expect(try key("shop.example", "/p/1", "a=%31&b=2").text == base.text)
        #expect(try key("shop.example", "/p/%31", "a=1&b=2").text != base.text)
        #expect(try key("shop.example:8080", "/p/1", "a=1&b=2").text != base.text)
        #expect(try key("shop.example", "/p/1", "a=1&a=0&b=2").target == "/p/1?a=1&a=0&b=2")
        // An absent header and an empty one are different keys.
        #expect(try key("h", "/p", nil, vary: [("x-v", nil)]).text != key("h", "/p", nil, vary: [("x-v", "")]).text)
        #expect(ResponseCacheKey.make(
            route: "/", host: "h", path: "/" + String(repeating: "a", count: 3000), query: nil, allowedQuery: [],
            varyValues: [], maximumLength: 2048) == nil)
        #expect(ResponseCacheKey.uriTag(host: "H.example", path: "/p/1") == ResponseCacheKey.uriTag(host: "h.example", path: "/p/1"))
    }

    @Test func sameOriginReferencesResolveAndOthersDoNot() {
        let resolve = { ResponseCache.sameOriginPath($0, host: "shop.example", basePath: "/products/1") }
        #expect(resolve("/products/2?x=1") == "/products/2")
        #expect(resolve("https://SHOP.example/products/3#top") == "/products/3")
        #expect(resolve("4") == "/products/4")
        #expect(resolve("https://evil.example/products/3") == nil)
        #expect(resolve("//evil.example/x") == nil)
        #expect(resolve("mailto:a@b") == nil)
    }

    @Test func cachedResponsesRoundTripAndCorruptBytesAreRejected() throws {
        let codec = CachedResponseCodec()
        let response = CachedResponse(
            fillID: 42, status: 200, headers: [.init(name: "Content-Type", value: "text/plain; charset=utf-8")],
            body: Array(0...255), storedAt: 1_700_000_000_123, entityTag: "\"e\"", tags: ["a", "b:c"])
        let bytes = codec.encode(response)
        #expect(try codec.decode(bytes) == response)
        for length in [0, 1, 5, bytes.count - 1] {
            #expect(throws: CacheCodecError.self) { try codec.decode(Array(bytes.prefix(length))) }
        }
        #expect(throws: CacheCodecError.self) { try codec.decode(bytes + [0]) }
        var huge = bytes
        huge[1] = 0xFF  // a varint that never ends within the input
        #expect(throws: CacheCodecError.self) { try codec.decode(Array(huge.prefix(12)) + Array(repeating: 0xFF, count: 12)) }
    }

    @Test func endpointsParseAndNeverPrintTheirPath() throws {
        let endpoint = try #require(EdgeEndpoint(url: "https://api.example:8443/zones/abc/purge_cache?token=secret"))
        #expect(endpoint.usesTLS && endpoint.host == "api.example" && endpoint.port == 8443)
        #expect(endpoint.path == "/zones/abc/purge_cache?token=secret")
        #expect(!endpoint.description.contains("secret"))
        #expect(EdgeEndpoint(url: "http://127.0.0.1")?.port == 80)
        #expect(EdgeEndpoint(url: "http://[::1]:6081/")?.host == "::1")
        #expect(EdgeEndpoint(url: "ftp://x") == nil)
        #expect(EdgeEndpoint(url: "http://user@host/") == nil)
        #expect(HTTPAPIPurger.jsonString("a\"b\\c\u{1}") == "\"a\\\"b\\\\c\\u0001\"")
    }

    @Test func policiesRejectIncoherentSettings() {
        var policy = ResponseCachePolicy(maxAge: .zero)
        #expect(throws: ResponseCacheError.self) { try policy.validate() }
        policy.sharedMaxAge = .seconds(10)
        #expect(throws: Never.self) { try policy.validate() }
        policy.cacheableStatuses = [404]
        #expect(throws: ResponseCacheError.self) { try policy.validate() }
        policy.cacheableStatuses = [200]
        policy.varyHeaders = [.cookie]
        #expect(throws: ResponseCacheError.self) { try policy.validate() }
        policy.varyHeaders = []
        policy.tags = ["has space"]
        #expect(throws: ResponseCacheError.self) { try policy.validate() }
    }

    @Test func theMemoryTagIndexIsBoundedAndExpiresMembers() {
        let clock = ManualCacheClock()
        let index = MemoryResponseTagIndex(maximumMembersPerTag: 2, clock: clock)
        #expect(index.record(member: "a", tags: ["t"], lifetime: .seconds(10)))
        #expect(index.record(member: "b", tags: ["t", "u"], lifetime: .seconds(20)))
        #expect(!index.record(member: "c", tags: ["t"], lifetime: .seconds(10)))
        #expect(index.record(member: "a", tags: ["t"], lifetime: .seconds(10)))
        clock.advance(by: .seconds(11))
        #expect(index.record(member: "c", tags: ["t"], lifetime: .seconds(10)))
        #expect(index.drain(tag: "t") == ["b", "c"])
        #expect(index.drain(tag: "t").isEmpty)
        #expect(index.memberCount(of: "u") == 1)
    }
}
