/// Whether a response a handler produced may be stored, and what `Cache-Control` it goes out
/// with when it may not (RFC 9111 §3 and §3.5, plus the Set-Cookie and Vary rules).
///
/// Sans-I/O: facts in, a decision out. Evaluated on the handler's own headers, before the
/// middleware adds the route's directives, so "explicitly public" means the handler said so.
struct StoreDecision: Sendable, Hashable {
    /// Why a response is not stored (a metric dimension and a `Cache-Status` detail).
    enum Refusal: String, Sendable, Hashable {
        case noStore = "no-store"
        case privateResponse = "private"
        case noCache = "no-cache"
        case credentials
        case setCookie = "set-cookie"
        case status
        case varyStar = "vary-star"
        case varyUndeclared = "vary-undeclared"
        case bodyTooLarge = "body-too-large"
        case invalidTag = "invalid-tag"
        case tagIndex = "tag-index"
        case invalidatedWhileLoading = "invalidated-while-loading"
    }

    /// The `Cache-Control` of a response that is not stored.
    enum Emitted: Sendable, Hashable {
        /// Keep whatever the handler sent.
        case handlers
        /// `private, no-store`: the response is someone's own.
        case privateNoStore
        /// `no-store` when the handler sent no `Cache-Control` (so no cache applies heuristics).
        case noStoreUnlessSet
    }

    /// The facts the decision depends on.
    struct Facts: Sendable {
        var status: Int
        var cacheControl: CacheControl
        /// Lower-cased names from the handler's `Vary` (possibly `*`).
        var varyNames: [String]
        var hasSetCookie: Bool
        var bodyBytes: Int
        var requestHasCredentials: Bool
        var tags: [String]
    }

    /// `nil` when the response may be stored.
    var refusal: Refusal?
    var emitted: Emitted

    static let store = StoreDecision(refusal: nil, emitted: .handlers)

    static func decide(_ facts: Facts, policy: ResponseCachePolicy) -> StoreDecision {
        let control = facts.cacheControl
        if control.noStore { return .init(refusal: .noStore, emitted: .handlers) }
        if control.isPrivate { return .init(refusal: .privateResponse, emitted: .handlers) }
        if control.noCache { return .init(refusal: .noCache, emitted: .handlers) }
        if facts.requestHasCredentials, !(control.isPublic || control.seconds("s-maxage") != nil) {
            return .init(refusal: .credentials, emitted: .privateNoStore)
        }
        if facts.hasSetCookie, !policy.storesSetCookie { return .init(refusal: .setCookie, emitted: .privateNoStore) }
        if !policy.cacheableStatuses.contains(facts.status) { return .init(refusal: .status, emitted: .noStoreUnlessSet) }
        if facts.varyNames.contains("*") { return .init(refusal: .varyStar, emitted: .noStoreUnlessSet) }
        let declared = Set(policy.varyNames)
        if !facts.varyNames.allSatisfy(declared.contains) { return .init(refusal: .varyUndeclared, emitted: .noStoreUnlessSet) }
        if facts.bodyBytes > policy.maximumBodyBytes { return .init(refusal: .bodyTooLarge, emitted: .noStoreUnlessSet) }
        if !facts.tags.allSatisfy(SurrogateKeys.isValid) { return .init(refusal: .invalidTag, emitted: .noStoreUnlessSet) }
        return .store
    }

    /// The `Cache-Control` a stored response goes out with: the route's freshness and stale
    /// windows, plus `public` when the handler said it.
    static func storedCacheControl(policy: ResponseCachePolicy, handlerSaidPublic: Bool) -> CacheControl {
        var directives: [CacheControl.Directive] = []
        if handlerSaidPublic { directives.append(.init("public")) }
        directives.append(.init("max-age", String(policy.maxAge.wholeSeconds)))
        if let shared = policy.sharedMaxAge { directives.append(.init("s-maxage", String(shared.wholeSeconds))) }
        if policy.staleWhileRevalidate > .zero {
            directives.append(.init("stale-while-revalidate", String(policy.staleWhileRevalidate.wholeSeconds)))
        }
        if policy.staleIfError > .zero {
            directives.append(.init("stale-if-error", String(policy.staleIfError.wholeSeconds)))
        }
        return CacheControl(directives)
    }
}

extension Duration {
    /// Whole seconds, rounded down, never negative.
    var wholeSeconds: Int64 { max(0, components.seconds) }
}
