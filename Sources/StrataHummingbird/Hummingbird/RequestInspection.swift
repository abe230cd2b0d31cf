import HTTPTypes
import Hummingbird
import NIOCore

/// The decision about a request before any handler runs: go on, refuse, or go on without the
/// cache. Shared by ``ResponseCacheMiddleware`` (every route) and the cached routes.
enum RequestVerdict: Sendable, Equatable {
    case proceed
    case refuse(HTTPResponse.Status, reason: String)
    case doNotCache(reason: String)
}

extension ResponseCache {
    /// Path checks for every route (cache deception): ambiguous paths, and static-looking
    /// suffixes on routes that captured them from a parameter or wildcard.
    func inspectPath(_ request: Request, routePattern: String?) -> RequestVerdict {
        let path = request.uri.path
        if let ambiguity = PathSafety.ambiguity(ofRawPath: path) {
            return pathVerdict(.badRequest, reason: ambiguity.description)
        }
        if let routePattern, !configuration.staticRoutePrefixes.contains(where: { routePattern.hasPrefix($0) }),
            PathSafety.hasStaticSuffixOnDynamicRoute(path: path, routePattern: routePattern, extensions: configuration.staticExtensions)
        {
            return pathVerdict(.notFound, reason: PathSafety.Ambiguity.staticSuffixOnDynamicRoute.description)
        }
        return .proceed
    }

    /// All checks of a `GET`/`HEAD` on a cached route: the path checks, no body, an allowed host.
    func inspectCachedRead(_ request: Request, routePattern: String) -> RequestVerdict {
        let verdict = inspectPath(request, routePattern: routePattern)
        guard verdict == .proceed else { return verdict }
        if Self.hasBody(request) {
            return .refuse(.badRequest, reason: "body-on-safe-method")
        }
        if let allowed = configuration.allowedHosts, !allowed.contains(ResponseCacheKey.normalisedHost(Self.host(of: request))) {
            return .refuse(.badRequest, reason: "host-not-allowed")
        }
        return .proceed
    }

    private func pathVerdict(_ status: HTTPResponse.Status, reason: String) -> RequestVerdict {
        configuration.ambiguousPaths == .refuse ? .refuse(status, reason: reason) : .doNotCache(reason: reason)
    }

    /// A refusal answered without the handler, marked so that no cache stores it.
    func refusal(_ status: HTTPResponse.Status, reason: String) -> Response {
        configuration.metrics.refused(reason)
        configuration.metrics.response("refused")
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "\(status.reasonPhrase)\n")))
    }

    /// The request's host: `:authority` (HTTP/2's, or HTTP/1's `Host`, which HTTPTypes maps
    /// there); empty when the request named none.
    static func host(of request: Request) -> String {
        request.head.authority ?? ""
    }

    /// Whether a request announces a body (`Content-Length` above zero or any `Transfer-Encoding`).
    static func hasBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        return request.headers[values: .contentLength].contains { ($0.trimmingHTTPWhitespace()) != "0" }
    }

    /// Whether the request carries credentials.
    static func hasCredentials(_ request: Request) -> Bool {
        request.headers[.authorization] != nil || request.headers[.cookie] != nil
    }

    /// Request headers never passed to a handler on a cached route, because the cache evaluates
    /// them itself (conditionals) or serves whole representations only (ranges).
    static let cacheEvaluatedHeaders: [HTTPField.Name] = [
        .ifNoneMatch, .ifModifiedSince, .ifMatch, .ifUnmodifiedSince, .ifRange, .range,
    ]

    /// The request the handler of a cached route sees: a `GET` of the canonical target (only
    /// allow-listed query parameters, sorted), without the stripped and cache-evaluated headers
    /// and without a body.
    func sanitizedRequest(_ request: Request, key: ResponseCacheKey, policy: ResponseCachePolicy) -> Request {
        let keyed = Set(policy.varyNames)
        var fields = request.headers
        for name in configuration.strippedRequestHeaders where !keyed.contains(name.canonicalName) {
            fields[name] = nil
        }
        for name in Self.cacheEvaluatedHeaders { fields[name] = nil }
        let head = HTTPRequest(
            method: .get, scheme: request.head.scheme, authority: request.head.authority, path: key.target, headerFields: fields)
        return Request(head: head, body: RequestBody(buffer: ByteBuffer()))
    }

    /// The request with only the stripped headers removed (for bypassed requests on cached routes).
    func strippedRequest(_ request: Request, policy: ResponseCachePolicy) -> Request {
        let keyed = Set(policy.varyNames)
        var head = request.head
        for name in configuration.strippedRequestHeaders where !keyed.contains(name.canonicalName) {
            head.headerFields[name] = nil
        }
        return Request(head: head, body: request.body)
    }

    /// The request's values of the headers a policy keys on.
    static func varyValues(_ request: Request, policy: ResponseCachePolicy) -> [(name: String, value: String?)] {
        policy.varyNames.map { name in
            let values = request.headers[values: HTTPField.Name(name)!]
            guard !values.isEmpty else { return (name, nil) }
            let joined = values.joined(separator: ", ")
            return (name, joined.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " "))
        }
    }
}
