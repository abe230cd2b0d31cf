public import Hummingbird
import Synchronization

/// A group of routes whose `GET`/`HEAD` responses are cached per a ``ResponseCachePolicy``.
///
/// Created with `RouterMethods.cached(_:policy:_:)`; add routes to it like to any
/// router group. Middleware added to the group runs *inside* the cache (on misses and refreshes
/// only); middleware added to the router before it runs on every request. Unsafe methods on the
/// group's routes pass through and, when they succeed, invalidate their URI.
public struct CachedRouteGroup<Context: RequestContext>: RouterMethods {
    let parent: any RouterMethods<Context>
    let path: RouterPath
    let responses: ResponseCache
    let policy: ResponseCachePolicy
    private let middlewares = MiddlewareList<Context>()

    init(parent: any RouterMethods<Context>, path: RouterPath, responses: ResponseCache, policy: ResponseCachePolicy) {
        self.parent = parent
        self.path = path
        self.responses = responses
        self.policy = policy
    }

    /// Adds a route whose responses are cached (for `GET` and `HEAD`).
    @discardableResult
    public func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        let fullPath = self.path.appendingPath(path)
        let chain = middlewares.chain(ending: responder)
        parent.on(fullPath, method: method, responder: CachingResponder(responses: responses, policy: policy, route: fullPath.description, next: chain))
        return self
    }

    /// Adds middleware that runs inside the cache, for routes added after this call.
    @discardableResult
    public func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        middlewares.append(middleware)
        return self
    }
}

extension RouterMethods {
    /// A group of routes, under `path`, whose responses `responses` caches per `policy`.
    ///
    /// ```swift
    /// try router.cached(responses, policy: ResponseCachePolicy(maxAge: .seconds(60)), "/products")
    ///     .get("{id}") { request, context in … }
    /// ```
    ///
    /// - Throws: ``ResponseCacheError`` `.invalidConfiguration` when the policy is incoherent.
    public func cached(_ responses: ResponseCache, policy: ResponseCachePolicy, _ path: RouterPath = "") throws(ResponseCacheError)
        -> CachedRouteGroup<Context>
    {
        try policy.validate()
        return CachedRouteGroup(parent: self, path: path, responses: responses, policy: policy)
    }
}

/// The middleware of a cached group, applied in order around each route's responder.
final class MiddlewareList<Context>: Sendable {
    private let items = Mutex<[any MiddlewareProtocol<Request, Response, Context>]>([])

    func append(_ middleware: any MiddlewareProtocol<Request, Response, Context>) {
        items.withLock { $0.append(middleware) }
    }

    func chain(ending responder: some HTTPResponder<Context>) -> any HTTPResponder<Context> {
        var current: any HTTPResponder<Context> = responder
        for middleware in items.withLock({ $0 }).reversed() {
            current = MiddlewareStep(middleware: middleware, next: current)
        }
        return current
    }
}

/// One middleware in front of the rest of a chain.
struct MiddlewareStep<Context>: HTTPResponder {
    let middleware: any MiddlewareProtocol<Request, Response, Context>
    let next: any HTTPResponder<Context>

    func respond(to request: Request, context: Context) async throws -> Response {
        try await middleware.handle(request, context: context) { request, context in
            try await next.respond(to: request, context: context)
        }
    }
}
