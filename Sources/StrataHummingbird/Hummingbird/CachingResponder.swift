import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Strata
import Synchronization

/// Wraps the responder chain of one cached route: reads and fills Strata through
/// `StrataCache.value(for:options:load:)`, whose loader runs the rest of the chain.
///
/// Why a responder and not only a middleware: Hummingbird hands a middleware its `next` as a
/// non-escaping closure, and a background refresh (stale-while-revalidate, early refresh) must
/// run the chain after the request that triggered it has been answered. The wrapped chain is
/// an escaping, `Sendable` value, so Strata's loader can run it from the cache's `run()`.
///
/// How outcomes map onto the cache: a storable response is returned by the loader and stored;
/// an uncacheable one is handed to the request that ran the loader through a private box and
/// the loader returns `nil` (negative caching is always off, so nothing is stored and no other
/// request receives it); a 5xx or a thrown error makes the loader throw, so Strata serves a
/// stale response inside the route's stale-if-error window. A request that joined another's
/// load and got `nil` or an error runs the chain itself: it never sees another request's
/// uncacheable response.
struct CachingResponder<Context: RequestContext>: HTTPResponder {
    let responses: ResponseCache
    let policy: ResponseCachePolicy
    let route: String
    let next: any HTTPResponder<Context>

    func respond(to request: Request, context: Context) async throws -> Response {
        ResponseCacheMiddlewareMarker.marks?.markCachedRoute()
        guard request.method == .get || request.method == .head else {
            let response = try await next.respond(to: request, context: context)
            if !ResponseCacheMiddlewareMarker.isActive {
                await responses.invalidateAfterUnsafeRequest(
                    method: request.method, host: ResponseCache.host(of: request), path: request.uri.path, response: response)
            }
            return response
        }
        switch responses.inspectCachedRead(request, routePattern: context.endpointPath ?? route) {
        case .refuse(let status, let reason):
            return responses.refusal(status, reason: reason)
        case .doNotCache(let reason):
            return try await bypass(request, context: context, detail: reason)
        case .proceed:
            break
        }
        if policy.credentialedRequests == .bypass, ResponseCache.hasCredentials(request) {
            return try await bypass(request, context: context, detail: "credentials")
        }
        guard
            let key = ResponseCacheKey.make(
                route: route, host: ResponseCache.host(of: request), path: request.uri.path, query: request.uri.query,
                allowedQuery: policy.queryParameters, varyValues: ResponseCache.varyValues(request, policy: policy),
                maximumLength: responses.configuration.maximumKeyLength)
        else {
            return try await bypass(request, context: context, detail: "key-too-long")
        }
        return try await cachedResponse(request, context: context, key: key)
    }

    private func cachedResponse(_ request: Request, context: Context, key: ResponseCacheKey) async throws -> Response {
        let sanitized = responses.sanitizedRequest(request, key: key, policy: policy)
        let fill = Fill(
            responses: responses, policy: policy, next: next, request: sanitized, context: context, key: key,
            hasCredentials: ResponseCache.hasCredentials(request))
        do {
            if let stored = try await responses.cache.value(for: responses.key(key.text), options: policy.entryOptions, load: fill.load) {
                return render(stored, for: request, ownFill: fill.box.storedFillID == stored.fillID)
            }
        } catch let error as CacheError where error.code == .loaderFailed || error.code == .loaderTimedOut {
            if fill.box.isEmpty {
                if error.code == .loaderTimedOut { throw HTTPError(.gatewayTimeout) }
                return try await bypass(request, context: context, detail: "joined-failed-load")
            }
        }
        switch fill.box.take() {
        case .notStored(let response, let body, let decision):
            responses.configuration.metrics.response("not_stored")
            return decorateNotStored(response, body: body, decision: decision, request: request)
        case .failed(let failure):
            responses.configuration.metrics.response("not_stored")
            throw failure.error
        case .stored, nil:
            // Another request's load ended uncacheable: this request runs the chain itself.
            return try await bypass(request, context: context, detail: "joined-uncacheable-load")
        }
    }

    /// Runs the chain without the cache; the response is never stored and leaves `private,
    /// no-store` unless the handler explicitly made it public.
    private func bypass(_ request: Request, context: Context, detail: String) async throws -> Response {
        responses.configuration.metrics.response("bypass")
        var response = try await next.respond(to: responses.strippedRequest(request, policy: policy), context: context)
        let control = CacheControl(parsing: response.headers[values: .cacheControl])
        if !(control.isPublic || control.seconds("s-maxage") != nil) || control.isPrivate {
            response.headers[.cacheControl] = "private, no-store"
        }
        response.headers[SurrogateKeys.handlerTagsHeader] = nil
        setCacheStatus(&response.headers, "fwd=bypass; detail=\(detail)")
        return response
    }

    /// A stored response as this request gets it: `Age` when it was not this request's own fill,
    /// `Cache-Status`, and `304` when `If-None-Match` matches.
    private func render(_ stored: CachedResponse, for request: Request, ownFill: Bool) -> Response {
        let now = responses.configuration.clock.now
        let age = stored.age(at: now)
        let freshness = Int(policy.sharedFreshness.wholeSeconds)
        var headers = HTTPFields()
        for field in stored.headers {
            if let name = HTTPField.Name(field.name) { headers.append(HTTPField(name: name, value: field.value)) }
        }
        if ownFill {
            responses.configuration.metrics.response("miss")
            setCacheStatus(&headers, "fwd=miss; stored")
        } else {
            headers[.age] = String(age)
            responses.configuration.metrics.response(age >= freshness ? "stale" : "hit")
            setCacheStatus(&headers, "hit; ttl=\(freshness - age)")
        }
        if policy.conditionalRequests, EntityTag.ifNoneMatch(request.headers[values: .ifNoneMatch], matches: stored.entityTag) {
            responses.configuration.metrics.response("not_modified")
            return Response(status: .notModified, headers: Self.notModifiedHeaders(from: headers))
        }
        let body = ByteBuffer(bytes: stored.body)
        let response = Response(status: HTTPResponse.Status(code: stored.status), headers: headers, body: .init(byteBuffer: body))
        return request.method == .head ? response.createHeadResponse() : response
    }

    /// A response the cache did not store, with the `Cache-Control` its decision calls for, and
    /// an `ETag` / `304` when the route answers conditional requests.
    private func decorateNotStored(_ response: Response, body: ByteBuffer?, decision: StoreDecision, request: Request) -> Response {
        var response = response
        response.headers[SurrogateKeys.handlerTagsHeader] = nil
        switch decision.emitted {
        case .handlers: break
        case .privateNoStore: response.headers[.cacheControl] = "private, no-store"
        case .noStoreUnlessSet where response.headers[.cacheControl] == nil: response.headers[.cacheControl] = "no-store"
        case .noStoreUnlessSet: break
        }
        setCacheStatus(&response.headers, "fwd=miss; detail=\(decision.refusal?.rawValue ?? "origin-error")")
        guard let body else { return response }
        if policy.conditionalRequests, response.status == .ok {
            let etag = response.headers[.eTag] ?? EntityTag.strong(for: body.readableBytesView)
            response.headers[.eTag] = etag
            if EntityTag.ifNoneMatch(request.headers[values: .ifNoneMatch], matches: etag) {
                return Response(status: .notModified, headers: Self.notModifiedHeaders(from: response.headers))
            }
        }
        response.body = .init(byteBuffer: body)
        return request.method == .head ? response.createHeadResponse() : response
    }

    private func setCacheStatus(_ headers: inout HTTPFields, _ parameters: String) {
        guard let name = responses.configuration.cacheStatusName else { return }
        headers[ResponseCache.cacheStatusHeader] = "\(name); \(parameters)"
    }

    /// The fields RFC 9110 §15.4.5 keeps in a 304, plus `Age`, `Cache-Status` and tags.
    static func notModifiedHeaders(from headers: HTTPFields) -> HTTPFields {
        let dropped: Set<HTTPField.Name> = [.contentLength, .contentType, .contentEncoding, .contentLanguage, .contentRange, .transferEncoding]
        var result = HTTPFields()
        for field in headers where !dropped.contains(field.name) { result.append(field) }
        return result
    }
}

extension ResponseCache {
    /// `Cache-Status` (RFC 9211).
    static let cacheStatusHeader = HTTPField.Name("Cache-Status")!
}

/// Set by ``ResponseCacheMiddleware`` while it runs an unsafe request, so that a cached route
/// leaves the invalidation to it instead of doing it twice.
enum ResponseCacheMiddlewareMarker {
    @TaskLocal static var isActive = false
    /// The marks of the request ``ResponseCacheMiddleware`` is running.
    @TaskLocal static var marks: RouteMarks?
}
