public import HTTPTypes
public import Logging
public import Strata

extension ResponseCache {
    /// What happens to a request whose path different components could read differently.
    public enum AmbiguousPathHandling: Sendable, Hashable {
        /// Answer `400 Bad Request` (encoded delimiters, `;`, dot segments, `//`) or
        /// `404 Not Found` (a static-file suffix on a dynamic route) without running the handler.
        case refuse
        /// Run the handler but never store the response, and send it `private, no-store`.
        case doNotCache
    }

    /// Settings shared by every cached route of one application.
    public struct Configuration: Sendable {
        /// The Strata namespace of stored responses (its version is part of every key).
        public var namespace: String
        /// Bump when ``CachedResponse``'s meaning changes, so old entries are never read.
        public var namespaceVersion: Int
        /// The clock of the `StrataCache` (ages and stale windows are computed with it).
        public var clock: any CacheClock
        /// Header styles in which responses announce their tags to the edge.
        public var surrogateKeyStyles: [SurrogateKeyStyle]
        /// Request headers removed before the handler on cached routes, unless a route keys on
        /// them (``ResponseCachePolicy/varyHeaders``): inputs a handler might reflect into a
        /// response while the key ignores them.
        public var strippedRequestHeaders: [HTTPField.Name]
        /// What happens to ambiguous paths (see ``PathSafety``).
        public var ambiguousPaths: AmbiguousPathHandling
        /// Extensions a CDN may cache by suffix; on a dynamic route they are refused.
        public var staticExtensions: Set<String>
        /// Route patterns (prefixes) that legitimately serve such extensions from a parameter
        /// or wildcard, such as `/assets/`.
        public var staticRoutePrefixes: [String]
        /// `Cache-Control` given by ``ResponseCacheMiddleware`` to responses of routes that are not
        /// cached and that set none themselves, so an edge never stores them by heuristics or by
        /// file extension. `nil` leaves them alone.
        public var uncachedRouteCacheControl: String?
        /// The cache's name in `Cache-Status` (RFC 9211); `nil` sends no `Cache-Status`.
        public var cacheStatusName: String?
        /// Hosts the cached routes answer for (lower-case, with port when not default); other
        /// hosts are refused with 400. `nil` accepts any host (each host has its own entries).
        public var allowedHosts: Set<String>?
        /// Keys longer than this bypass the cache.
        public var maximumKeyLength: Int
        /// Successful `POST`/`PUT`/`PATCH`/`DELETE` requests invalidate their target URI (and a
        /// same-origin `Location`/`Content-Location`) in Strata and at the edge.
        public var invalidatesOnUnsafeMethods: Bool
        /// `ETag` and `If-None-Match` → 304 also for `200` responses of routes that are not
        /// cached (their body is buffered to hash it, up to 1 MiB with a known length).
        public var conditionalResponsesOnUncachedRoutes: Bool
        /// How failed edge purges are retried.
        public var purgeRetry: PurgeRetryPolicy
        /// Edge purges waiting for ``ResponseCache/run()``; more are counted as failures.
        public var purgeQueueCapacity: Int
        /// Where the cache logs what an operator should act on (never keys, URLs or tags).
        public var logger: Logger
        /// The swift-metrics instruments.
        public var metrics: ResponseCacheMetrics
        /// Uniform numbers in [0, 1) for retry jitter and fill identifiers.
        public var random: @Sendable () -> Double

        /// Creates a configuration with secure defaults.
        public init(
            namespace: String = "http-response",
            clock: any CacheClock = SystemCacheClock(),
            surrogateKeyStyles: [SurrogateKeyStyle] = [.xkey],
            logger: Logger = Logger(label: "strata.http"),
            metrics: ResponseCacheMetrics = ResponseCacheMetrics()
        ) {
            self.namespace = namespace
            self.namespaceVersion = 1
            self.clock = clock
            self.surrogateKeyStyles = surrogateKeyStyles
            self.strippedRequestHeaders = Self.defaultStrippedRequestHeaders
            self.ambiguousPaths = .refuse
            self.staticExtensions = PathSafety.defaultStaticExtensions
            self.staticRoutePrefixes = []
            self.uncachedRouteCacheControl = "private, no-store"
            self.cacheStatusName = "strata"
            self.allowedHosts = nil
            self.maximumKeyLength = 2048
            self.invalidatesOnUnsafeMethods = true
            self.conditionalResponsesOnUncachedRoutes = false
            self.purgeRetry = PurgeRetryPolicy()
            self.purgeQueueCapacity = 1024
            self.logger = logger
            self.metrics = metrics
            self.random = { Double.random(in: 0..<1) }
        }

        /// Headers that rewrite the host, scheme, path, prefix or method of a request in common
        /// frameworks and proxies: the classic unkeyed inputs of cache poisoning.
        public static let defaultStrippedRequestHeaders: [HTTPField.Name] = [
            "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Prefix",
            "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Path", "Forwarded", "X-Host", "X-Original-Host",
            "X-Original-URL", "X-Rewrite-URL", "X-Original-URI", "X-HTTP-Method-Override", "X-HTTP-Method",
            "X-Method-Override", "X-Url-Scheme", "Front-End-Https",
        ].map { HTTPField.Name($0)! }

        /// Rejects incoherent settings.
        public func validate() throws(ResponseCacheError) {
            func fail(_ message: String) -> ResponseCacheError { ResponseCacheError(.invalidConfiguration, message) }
            guard maximumKeyLength >= 64 else { throw fail("maximumKeyLength must be at least 64") }
            guard purgeQueueCapacity >= 1 else { throw fail("purgeQueueCapacity must be at least 1") }
            guard !surrogateKeyStyles.contains(where: { $0.header == SurrogateKeys.handlerTagsHeader }) else {
                throw fail("surrogateKeyStyles must not use the Strata-Tags header")
            }
        }
    }
}
