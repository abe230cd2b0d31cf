import NIOCore

/// Purges a Varnish instance that runs vmod xkey: `PURGE /` with `xkey-purge: tag1 tag2 …`
/// (or `xkey-softpurge`, which marks objects stale instead of removing them, so grace still
/// covers an origin outage).
///
/// The VCL in `Sources/StrataHummingbird/Resources/edge.vcl` answers such requests from
/// loopback (edit its `purgers` ACL for other hosts). A status other than 2xx is a failure.
public struct VarnishXkeyPurger: EdgePurger {
    /// The Varnish listen address (`http://127.0.0.1:6081`).
    public var endpoint: EdgeEndpoint
    /// Send `xkey-softpurge` instead of `xkey-purge`.
    public var soft: Bool
    /// Tags per request; more tags are sent in several requests.
    public var maximumTagsPerRequest: Int
    /// The deadline of one request.
    public var timeout: Duration

    /// `varnish`.
    public var name: String { "varnish" }

    /// Creates a purger for one Varnish instance.
    public init(endpoint: EdgeEndpoint, soft: Bool = false, maximumTagsPerRequest: Int = 64, timeout: Duration = .seconds(2)) {
        self.endpoint = endpoint
        self.soft = soft
        self.maximumTagsPerRequest = max(1, maximumTagsPerRequest)
        self.timeout = timeout
    }

    /// Sends one `PURGE` per chunk of tags; throws on the first failure.
    public func purge(tags: [String]) async throws {
        let header = soft ? "xkey-softpurge" : "xkey-purge"
        for chunk in tags.chunked(by: maximumTagsPerRequest) {
            let response = try await EdgeHTTPClient().send(
                method: "PURGE", endpoint: endpoint, path: "/", headers: [(header, chunk.joined(separator: " "))], timeout: timeout)
            guard (200..<300).contains(response.status) else {
                throw ResponseCacheError(.purgeFailed, "varnish answered PURGE with status \(response.status)")
            }
        }
    }
}

/// Purges through a CDN's HTTP API: `POST` of `{"<field>": [tags…]}` with a bearer token.
///
/// Cloudflare's purge-by-tag (`POST …/zones/<zone>/purge_cache`, field `tags`,
/// `Authorization: Bearer …`) fits the defaults; Fastly's (`POST …/service/<id>/purge`, field
/// `surrogate_keys`, token in `Fastly-Key`) fits with ``bodyField`` and ``tokenHeader`` changed.
/// A status other than 2xx is a failure. The token never appears in errors or logs.
public struct HTTPAPIPurger: EdgePurger {
    /// The purge URL.
    public var endpoint: EdgeEndpoint
    /// The token sent with every request.
    public var token: String?
    /// The header that carries the token (`Authorization` sends `Bearer <token>`).
    public var tokenHeader: String
    /// The JSON field that holds the tag list.
    public var bodyField: String
    /// Tags per request (Cloudflare accepts 30 per call).
    public var maximumTagsPerRequest: Int
    /// The deadline of one request.
    public var timeout: Duration

    /// `http-api`.
    public var name: String { "http-api" }

    /// Creates a purger.
    public init(
        endpoint: EdgeEndpoint, token: String?, tokenHeader: String = "Authorization", bodyField: String = "tags",
        maximumTagsPerRequest: Int = 30, timeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.token = token
        self.tokenHeader = tokenHeader
        self.bodyField = bodyField
        self.maximumTagsPerRequest = max(1, maximumTagsPerRequest)
        self.timeout = timeout
    }

    /// Sends one `POST` per chunk of tags; throws on the first failure.
    public func purge(tags: [String]) async throws {
        for chunk in tags.chunked(by: maximumTagsPerRequest) {
            var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
            if let token {
                headers.append((tokenHeader, tokenHeader.lowercased() == "authorization" ? "Bearer \(token)" : token))
            }
            let body = "{\(Self.jsonString(bodyField)):[\(chunk.map(Self.jsonString).joined(separator: ","))]}"
            let response = try await EdgeHTTPClient().send(
                method: "POST", endpoint: endpoint, headers: headers, body: .init(string: body), timeout: timeout)
            guard (200..<300).contains(response.status) else {
                throw ResponseCacheError(.purgeFailed, "purge API answered with status \(response.status)")
            }
        }
    }

    /// A JSON string literal (tags are validated, but field names come from configuration).
    static func jsonString(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
