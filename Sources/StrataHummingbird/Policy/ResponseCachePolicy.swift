public import HTTPTypes
public import Hummingbird
public import Strata

/// How the responses of one route (or route group) are cached and what they tell the edge.
///
/// ```swift
/// var policy = ResponseCachePolicy(maxAge: .seconds(30), sharedMaxAge: .seconds(300))
/// policy.staleWhileRevalidate = .seconds(30)
/// policy.staleIfError = .seconds(3600)
/// policy.queryParameters = ["page", "sort"]
/// policy.varyHeaders = [.acceptLanguage]
/// policy.tags = ["products"]
/// policy.requestTags = { _, parameters in ["product-\(parameters.get("id") ?? "")"] }
/// ```
///
/// Freshness in Strata is `sharedMaxAge ?? maxAge`: Strata is a shared cache, like the CDN.
/// Incoherent settings are rejected by ``validate()`` when the route is registered.
public struct ResponseCachePolicy: Sendable {
    /// What happens to requests that carry `Authorization` or `Cookie`.
    public enum CredentialedRequests: Sendable, Hashable {
        /// They neither read nor fill the cache; their responses go out `private, no-store`
        /// unless the handler marked them `public` or `s-maxage` (the safe default: such requests
        /// often see personalised content).
        case bypass
        /// They may be answered from the cache; their own responses are stored only when the
        /// handler explicitly marked them `public` or gave them an `s-maxage` (RFC 9111 §3.5).
        case shareExplicitlyPublic
    }

    /// Freshness for browsers and every cache (`max-age`).
    public var maxAge: Duration
    /// Freshness for shared caches — the CDN and Strata (`s-maxage`); `nil` means `maxAge`.
    public var sharedMaxAge: Duration?
    /// How long past freshness a stale response is served while one refresh runs (RFC 5861).
    public var staleWhileRevalidate: Duration
    /// How long past freshness a stale response is served when the application fails (5xx or a
    /// thrown error) (RFC 5861).
    public var staleIfError: Duration
    /// Query parameters that select the response; all others are removed before the handler runs
    /// and are not part of the key.
    public var queryParameters: Set<String>
    /// Request headers that select the response: part of the key, sent in `Vary`, and exempt
    /// from stripping when they are also in ``ResponseCache/Configuration/strippedRequestHeaders``
    /// (for example `X-Forwarded-Proto` when the handler really depends on it).
    public var varyHeaders: [HTTPField.Name]
    /// Surrogate keys of every response of the route.
    public var tags: [String]
    /// Surrogate keys computed from the request (for example `product-42`).
    public var requestTags: (@Sendable (Request, Parameters) -> [String])?
    /// Store responses carrying `Set-Cookie` (replayed to every client). Off by default.
    public var storesSetCookie: Bool
    /// What happens to requests that carry credentials.
    public var credentialedRequests: CredentialedRequests
    /// Answer `If-None-Match` with `304 Not Modified` on this route.
    public var conditionalRequests: Bool
    /// Status codes that may be stored. `404`, `5xx` and other error statuses never are: there is
    /// no negative caching of responses.
    public var cacheableStatuses: Set<Int>
    /// Bodies larger than this are served but not stored.
    public var maximumBodyBytes: Int
    /// How long an instance trusts its in-process copy before asking Redis again; `nil` means the
    /// whole freshness. Keep it short when several instances serve the route: invalidation
    /// removes the entry from Redis and from the invalidating instance only.
    public var memoryFreshFor: Duration?
    /// XFetch early refresh (`nil` turns it off), as in `CacheEntryOptions.EarlyRefresh/beta`.
    public var earlyRefreshBeta: Double?
    /// Loader (handler) timeouts, as in `CacheEntryOptions.LoaderTimeouts`.
    public var handlerTimeouts: CacheEntryOptions.LoaderTimeouts
    /// After serving stale because the handler failed, how long the stale response counts as fresh.
    public var failSafeThrottle: Duration
    /// Which Strata tiers hold the responses.
    public var tiers: CacheEntryOptions.Tiers

    /// Creates a policy; everything not given has a conservative default.
    public init(
        maxAge: Duration,
        sharedMaxAge: Duration? = nil,
        staleWhileRevalidate: Duration = .zero,
        staleIfError: Duration = .zero,
        queryParameters: Set<String> = [],
        varyHeaders: [HTTPField.Name] = [],
        tags: [String] = []
    ) {
        self.maxAge = maxAge
        self.sharedMaxAge = sharedMaxAge
        self.staleWhileRevalidate = staleWhileRevalidate
        self.staleIfError = staleIfError
        self.queryParameters = queryParameters
        self.varyHeaders = varyHeaders
        self.tags = tags
        self.requestTags = nil
        self.storesSetCookie = false
        self.credentialedRequests = .bypass
        self.conditionalRequests = true
        self.cacheableStatuses = [200, 203, 204, 300, 301, 308]
        self.maximumBodyBytes = 1 << 20
        self.memoryFreshFor = nil
        self.earlyRefreshBeta = nil
        self.handlerTimeouts = .init()
        self.failSafeThrottle = .seconds(10)
        self.tiers = .all
    }

    /// Freshness in Strata and at the edge.
    public var sharedFreshness: Duration { sharedMaxAge ?? maxAge }

    /// The Strata entry options this policy stands for (never with negative caching).
    public var entryOptions: CacheEntryOptions {
        var options = CacheEntryOptions(
            freshFor: sharedFreshness,
            staleness: .init(whileRevalidate: staleWhileRevalidate, ifError: staleIfError, failSafeThrottle: failSafeThrottle),
            refresh: .init(beta: earlyRefreshBeta),
            timeouts: handlerTimeouts,
            negativeFor: nil,
            tiers: tiers)
        if let memoryFreshFor { options.expiration.memoryFreshFor = min(memoryFreshFor, sharedFreshness) }
        return options
    }

    /// The lower-cased names of ``varyHeaders``, sorted and without duplicates.
    var varyNames: [String] { Array(Set(varyHeaders.map { $0.canonicalName })).sorted() }

    /// Rejects settings that cannot mean what was intended.
    ///
    /// - Throws: ``ResponseCacheError`` `.invalidConfiguration` naming the setting.
    public func validate() throws(ResponseCacheError) {
        func fail(_ message: String) -> ResponseCacheError { ResponseCacheError(.invalidConfiguration, message) }
        guard maxAge >= .zero else { throw fail("maxAge must not be negative") }
        if let sharedMaxAge { guard sharedMaxAge >= .zero else { throw fail("sharedMaxAge must not be negative") } }
        guard sharedFreshness >= .seconds(1) else { throw fail("sharedMaxAge ?? maxAge must be at least one second") }
        guard staleWhileRevalidate >= .zero, staleIfError >= .zero else { throw fail("stale windows must not be negative") }
        guard maximumBodyBytes >= 0 else { throw fail("maximumBodyBytes must not be negative") }
        guard cacheableStatuses.allSatisfy({ (200..<400).contains($0) && $0 != 206 && $0 != 304 }) else {
            throw fail("cacheableStatuses may only name complete 2xx/3xx responses (no 206, no 304, no errors)")
        }
        for tag in tags where !SurrogateKeys.isValid(tag) {
            throw fail("tags use 1-128 characters from letters, digits and - _ . :")
        }
        guard varyHeaders.allSatisfy({ !SurrogateKeys.credentialHeaders.contains($0.canonicalName) }) else {
            throw fail("varyHeaders must not name Authorization or Cookie: one entry per user is not a shared cache")
        }
        do {
            try entryOptions.validate()
        } catch {
            throw ResponseCacheError(.invalidConfiguration, "entry options: \(error.message)", underlying: error)
        }
    }
}
