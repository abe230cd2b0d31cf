public import Hummingbird
import NIOCore
import Synchronization

/// The router-wide half of the edge tier, for every route (cached or not):
///
/// - refuses ambiguous paths and static-file suffixes captured by dynamic routes (cache
///   deception), per ``ResponseCache/Configuration/ambiguousPaths``;
/// - after a successful `POST`/`PUT`/`PATCH`/`DELETE`, invalidates the target URI and a
///   same-origin `Location`/`Content-Location` in Strata and at the edge;
/// - gives responses of routes that are not cached, and that set no `Cache-Control`, the
///   configured ``ResponseCache/Configuration/uncachedRouteCacheControl`` (`private, no-store`),
///   so an edge never stores them by heuristics or by extension;
/// - optionally answers `If-None-Match` for those responses too.
///
/// Add it to the router before any route: Hummingbird applies router middleware to the routes
/// added after it. It runs after routing, so it knows the matched route.
public struct ResponseCacheMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The response cache whose settings and invalidation this middleware uses.
    public let responses: ResponseCache

    /// Creates the middleware.
    public init(cache responses: ResponseCache) {
        self.responses = responses
    }

    /// Applies the checks, runs the rest of the chain, and invalidates or marks its response.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch responses.inspectPath(request, routePattern: context.endpointPath) {
        case .refuse(let status, let reason):
            return responses.refusal(status, reason: reason)
        case .doNotCache:
            var response = try await respond(request, context: context, next: next)
            response.headers[.cacheControl] = "private, no-store"
            return response
        case .proceed:
            break
        }
        let isSafe = request.method == .get || request.method == .head || request.method == .options
        guard isSafe else {
            let response = try await ResponseCacheMiddlewareMarker.$isActive.withValue(true) {
                try await next(request, context)
            }
            await responses.invalidateAfterUnsafeRequest(
                method: request.method, host: ResponseCache.host(of: request), path: request.uri.path, response: response)
            return response
        }
        let marks = RouteMarks()
        var response = try await ResponseCacheMiddlewareMarker.$marks.withValue(marks) {
            try await respond(request, context: context, next: next)
        }
        guard !marks.isCachedRoute else { return response }
        if response.headers[.cacheControl] == nil, let control = responses.configuration.uncachedRouteCacheControl {
            response.headers[.cacheControl] = control
        }
        if responses.configuration.conditionalResponsesOnUncachedRoutes {
            response = try await conditional(response, request: request)
        }
        return response
    }

    /// The chain's response, with HTTP errors turned into responses so that they get headers too.
    private func respond(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }

    /// `ETag` and `304` for a `200` of known, bounded length.
    private func conditional(_ response: Response, request: Request) async throws -> Response {
        guard response.status == .ok, request.method != .options, let length = response.body.contentLength, length <= 1 << 20
        else { return response }
        var response = response
        let body = try await BodyCollector.collect(response)
        let etag = response.headers[.eTag] ?? EntityTag.strong(for: body.readableBytesView)
        response.headers[.eTag] = etag
        if EntityTag.ifNoneMatch(request.headers[values: .ifNoneMatch], matches: etag) {
            responses.configuration.metrics.response("not_modified")
            return Response(status: .notModified, headers: CachingResponder<Context>.notModifiedHeaders(from: response.headers))
        }
        response.body = .init(byteBuffer: body)
        return request.method == .head ? response.createHeadResponse() : response
    }
}

/// Lets a cached route tell ``ResponseCacheMiddleware`` (which runs around it, in the same
/// task) that it handled the response's caching headers itself.
final class RouteMarks: Sendable {
    private let cached = Atomic<Bool>(false)

    func markCachedRoute() { cached.store(true, ordering: .relaxed) }

    var isCachedRoute: Bool { cached.load(ordering: .relaxed) }
}
