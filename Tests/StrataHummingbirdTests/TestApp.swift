import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import NIOCore
import Strata
@testable import StrataHummingbird
import Synchronization
import Testing

/// A distributed tier in memory that records what was written, standing in for Redis where a
/// test needs to look at stored bytes.
final class RecordingTier: DistributedCacheTier {
    private let entries = Mutex<[String: [UInt8]]>([:])

    func get(_ key: String) async throws -> [UInt8]? { entries.withLock { $0[key] } }
    func get(_ keys: [String]) async throws -> [[UInt8]?] { entries.withLock { entries in keys.map { entries[$0] } } }
    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws { entries.withLock { $0[key] = value } }
    func remove(_ keys: [String]) async throws { entries.withLock { for key in keys { $0[key] = nil } } }

    var keys: [String] { entries.withLock { Array($0.keys) } }

    /// Whether any stored entry contains `marker` (payloads are stored uncompressed in tests).
    func anyEntryContains(_ marker: String) -> Bool {
        let needle = Array(marker.utf8)
        return entries.withLock { entries in
            entries.values.contains { bytes in
                bytes.count >= needle.count && (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<$0 + needle.count]) == needle }
            }
        }
    }
}

/// Runs a `StrataCache` so that a graceful shutdown that arrives before its `run()` has started
/// still ends it. `StrataCache.run()` stops its background loop from a graceful-shutdown handler;
/// when the shutdown came first (a quick test on a loaded machine), that handler runs before the
/// loop exists and the loop then never ends. Cancellation always reaches the loop.
struct ShutdownSafeCacheService: Service {
    let cache: StrataCache

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await cache.run() }
    }
}

/// Counts handler calls by name.
final class Calls: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    @discardableResult
    func record(_ name: String) -> Int { counts.withLock { counts in counts[name, default: 0] += 1; return counts[name]! } }
    subscript(_ name: String) -> Int { counts.withLock { $0[name, default: 0] } }
}

/// Holds handlers until a test opens it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Switches a test flips to change what handlers do.
final class Switches: Sendable {
    private let state = Mutex<(failing: Bool, throwing: Bool)>((false, false))
    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }
    var throwing: Bool {
        get { state.withLock { $0.throwing } }
        set { state.withLock { $0.throwing = newValue } }
    }
}

struct HandlerFailure: Error {}

/// The application the suites test: a cached product catalogue, routes with every kind of
/// uncacheable answer, and private account routes that must never be cached anywhere.
struct TestApp {
    let clock: ManualCacheClock?
    let tier = RecordingTier()
    let strata: StrataCache
    let responses: ResponseCache
    let calls = Calls()
    let switches = Switches()
    let gate = Gate()

    /// Request headers the product handler echoes into its body (poisoning probes).
    static let echoedHeaders = ResponseCache.Configuration.defaultStrippedRequestHeaders

    init(
        manualClock: Bool = true, distributedTier: (any DistributedCacheTier)? = nil, tagIndex: (any ResponseTagIndex)? = nil,
        purgers: [any EdgePurger] = [], configure: (inout ResponseCache.Configuration) -> Void = { _ in }
    ) throws {
        let clock: any CacheClock = manualClock ? ManualCacheClock() : SystemCacheClock()
        self.clock = clock as? ManualCacheClock
        var strataConfiguration = StrataCache.Configuration(memoryMaximumEntries: 1_000, clock: clock)
        strataConfiguration.compression = .disabled
        strata = try StrataCache(configuration: strataConfiguration, distributedTier: distributedTier ?? tier)
        var configuration = ResponseCache.Configuration(clock: clock)
        configure(&configuration)
        responses = try ResponseCache(cache: strata, configuration: configuration, tagIndex: tagIndex, purgers: purgers)
    }

    static var productPolicy: ResponseCachePolicy {
        var policy = ResponseCachePolicy(
            maxAge: .seconds(60), sharedMaxAge: .seconds(300), staleWhileRevalidate: .seconds(30), staleIfError: .seconds(600),
            queryParameters: ["page", "sort"], varyHeaders: [.acceptLanguage], tags: ["products"])
        policy.requestTags = { _, parameters in ["product-\(parameters.get("id") ?? "none")"] }
        return policy
    }

    func router() throws -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: ResponseCacheMiddleware(cache: responses))
        let calls = calls
        let switches = switches

        try router.cached(responses, policy: Self.productPolicy, "/products").get("{id}") { request, context -> Response in
            let call = calls.record("products")
            if switches.throwing { throw HandlerFailure() }
            if switches.failing { return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "down"))) }
            var body = "product \(context.parameters.get("id") ?? "") call=\(call)"
            body += " lang=\(request.headers[.acceptLanguage] ?? "-") query=\(request.uri.query ?? "-")"
            for name in Self.echoedHeaders {
                if let value = request.headers[name] { body += " \(name)=\(value)" }
            }
            if request.headers[.cookie] != nil { body += " cookie-seen" }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }

        let plain = try router.cached(responses, policy: ResponseCachePolicy(maxAge: .seconds(60), queryParameters: ["public"]))
        plain.get("/private-handler") { _, _ in Self.text("mine", ["Cache-Control": "private, max-age=60"], calls, "private-handler") }
        plain.get("/no-store") { _, _ in Self.text("never", ["Cache-Control": "no-store"], calls, "no-store") }
        plain.get("/cookie") { _, _ in Self.text("with cookie", ["Set-Cookie": "session=abc"], calls, "cookie") }
        plain.get("/vary-undeclared") { _, _ in Self.text("varies", ["Vary": "X-Undeclared"], calls, "vary-undeclared") }
        plain.get("/vary-star") { _, _ in Self.text("varies", ["Vary": "*"], calls, "vary-star") }
        plain.get("/missing") { _, _ -> Response in
            calls.record("missing")
            throw HTTPError(.notFound)
        }
        plain.get("/tagged") { _, _ in Self.text("tagged", ["Strata-Tags": "extra-1 extra-2"], calls, "tagged") }
        plain.get("/bad-tag") { _, _ in Self.text("bad", ["Strata-Tags": "no/slashes"], calls, "bad-tag") }

        var cookiePolicy = ResponseCachePolicy(maxAge: .seconds(60))
        cookiePolicy.storesSetCookie = true
        try router.cached(responses, policy: cookiePolicy).get("/cookie-opt-in") { _, _ in
            Self.text("opted in", ["Set-Cookie": "lb=1"], calls, "cookie-opt-in")
        }

        var sharedPolicy = ResponseCachePolicy(maxAge: .seconds(60), queryParameters: ["public"])
        sharedPolicy.credentialedRequests = .shareExplicitlyPublic
        try router.cached(responses, policy: sharedPolicy).get("/shared") { request, _ in
            let isPublic = request.uri.queryParameters["public"] != nil
            return Self.text("shared", isPublic ? ["Cache-Control": "public"] : [:], calls, "shared")
        }

        let gate = gate
        try router.cached(responses, policy: sharedPolicy).get("/slow") { request, _ in
            calls.record("slow-started")
            await gate.wait()
            let user = request.headers[.authorization] ?? "anonymous"
            return Self.text("for \(user)", user == "anonymous" ? ["Cache-Control": "public"] : [:], calls, "slow")
        }

        var smallPolicy = ResponseCachePolicy(maxAge: .seconds(60))
        smallPolicy.maximumBodyBytes = 16
        try router.cached(responses, policy: smallPolicy).get("/big") { _, _ in
            Self.text(String(repeating: "x", count: 64), [:], calls, "big")
        }

        var keyedPolicy = ResponseCachePolicy(maxAge: .seconds(60), varyHeaders: [HTTPField.Name("X-Forwarded-Proto")!])
        keyedPolicy.tags = ["scheme"]
        try router.cached(responses, policy: keyedPolicy).get("/scheme") { request, _ in
            Self.text("scheme=\(request.headers[HTTPField.Name("X-Forwarded-Proto")!] ?? "-")", [:], calls, "scheme")
        }

        try router.cached(responses, policy: ResponseCachePolicy(maxAge: .seconds(60)), "/pages").get("**") { request, _ in
            Self.text("page \(request.uri.path)", [:], calls, "pages")
        }

        let flash = ResponseCachePolicy(maxAge: .seconds(1), staleIfError: .seconds(600), tags: ["flash"])
        try router.cached(responses, policy: flash).get("/flash/{id}") { _, context -> Response in
            let call = calls.record("flash")
            if switches.failing { return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "down"))) }
            return Self.text("flash \(context.parameters.get("id") ?? "") call=\(call)", [:], calls, "flash-body")
        }

        router.post("/products/{id}") { request, _ -> Response in
            calls.record("update")
            if request.uri.queryParameters["fail"] != nil { return Response(status: .conflict) }
            var headers = HTTPFields()
            if let location = request.uri.queryParameters["location"] { headers[.location] = String(location) }
            return Response(status: .noContent, headers: headers)
        }

        // Private routes: never cached by Strata, always `private, no-store` for the edge.
        for path: RouterPath in ["/account", "/account/{section}", "/me/**", "/users/{id}/settings"] {
            router.get(path) { request, _ in
                Self.text("SECRET for \(request.headers[.cookie] ?? "nobody")", [:], calls, "private")
            }
        }
        router.get("/styles/{name}.css") { _, _ in Self.text("body{}", ["Cache-Control": "public, max-age=60"], calls, "css") }
        router.get("/health") { _, _ in Self.text("ok", [:], calls, "health") }
        return router
    }

    static func text(_ body: String, _ headers: [String: String], _ calls: Calls, _ name: String) -> Response {
        calls.record(name)
        var fields = HTTPFields()
        fields[.contentType] = "text/plain"
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func application(port: Int = 0, onServerRunning: @escaping @Sendable () async -> Void = {}) throws -> some ApplicationProtocol {
        Application(
            router: try router(), configuration: .init(address: .hostname("127.0.0.1", port: port)),
            services: [ShutdownSafeCacheService(cache: strata), responses], onServerRunning: { _ in await onServerRunning() },
            logger: Self.quietLogger)
    }

    /// Hummingbird logs expected shutdown noise at error level; tests assert, they do not read logs.
    static let quietLogger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs the application on `127.0.0.1:port` (not through the test framework, which binds
    /// `localhost`), calls `body` once it listens, then shuts it down.
    func serve<T: Sendable>(port: Int, _ body: @Sendable () async throws -> T) async throws -> T {
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        let application = try application(port: port, onServerRunning: { signal.yield() })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await application.runService(gracefulShutdownSignals: [])
                return nil
            }
            for await _ in started { break }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Runs `body` against the app through the router test framework (services running).
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await application().test(.router, body)
    }
}

extension TestClientProtocol {
    /// A GET with optional headers.
    func get(_ uri: String, _ headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    subscript(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// Polls `condition` every 10 ms until it holds or `deadline` passes (generous on purpose).
func eventually(_ deadline: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = ContinuousClock.now + deadline
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
