/// Builds the cache key of a request and the exact target the handler will see, so that nothing
/// the key leaves out can reach the handler (an unkeyed input is how caches get poisoned).
///
/// Sans-I/O: strings in, strings out.
struct ResponseCacheKey: Sendable, Hashable {
    /// The canonical key text, given to the namespace as one key part.
    var text: String
    /// The raw path, for URI tags.
    var path: String
    /// The normalised host, for URI tags.
    var host: String
    /// The request target (`path?query`) the handler receives: only allow-listed query
    /// parameters, sorted by name, percent-encoding normalised.
    var target: String

    /// Builds the key, or returns `nil` when it would be longer than `maximumLength` (such
    /// requests bypass the cache; keys are never hashed, because a crafted collision would let
    /// one URL overwrite another's entry).
    ///
    /// - Parameters:
    ///   - route: the router's matched pattern: the key names the route that produced the
    ///     response, so a path that reaches another route (a wildcard) can never fill this key.
    ///   - host: the `Host` / `:authority` value.
    ///   - path: the raw path (already checked by ``PathSafety``), used as is: the router matched
    ///     these exact bytes, and any normalisation the router does not do would let two routes
    ///     share a key.
    ///   - query: the raw query, without `?`.
    ///   - allowedQuery: names of the query parameters that select the response.
    ///   - varyValues: lower-case header names with the request's values (`nil` when absent).
    static func make(
        route: String, host: String, path: String, query: String?, allowedQuery: Set<String>,
        varyValues: [(name: String, value: String?)], maximumLength: Int
    ) -> ResponseCacheKey? {
        let host = normalisedHost(host)
        let pairs = canonicalQuery(query, allowed: allowedQuery)
        let queryText = pairs.joined(separator: "&")
        var text = "GET\n\(route)\n\(host)\n\(path)\n\(queryText)"
        for (name, value) in varyValues.sorted(by: { $0.name < $1.name }) {
            text += value.map { "\n\(name)=\($0)" } ?? "\n\(name)"
        }
        guard text.utf8.count <= maximumLength else { return nil }
        return ResponseCacheKey(text: text, path: path, host: host, target: queryText.isEmpty ? path : "\(path)?\(queryText)")
    }

    /// The tag that names every cached variant of one URI (host and path, any query), used to
    /// invalidate a URI after a successful unsafe request. A fixed-size digest keeps tags short;
    /// a collision only removes more than necessary.
    static func uriTag(host: String, path: String) -> String {
        var hash = FNV128()
        hash.combine(normalisedHost(host).utf8)
        hash.combine(0)
        hash.combine(path.utf8)
        return "strata-uri-" + hash.hex
    }

    /// Lower-cased, without whitespace or a trailing dot on the name (`Example.COM.:8080` →
    /// `example.com:8080`).
    static func normalisedHost(_ host: String) -> String {
        var host = host.trimmingHTTPWhitespace().lowercased()
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            var name = String(host[..<colon])
            let port = host[colon...]
            while name.hasSuffix(".") { name.removeLast() }
            host = name + port
        } else {
            while host.hasSuffix(".") { host.removeLast() }
        }
        return host
    }

    /// Query pairs that are allow-listed, normalised, sorted by name (stable for repeated names).
    static func canonicalQuery(_ query: String?, allowed: Set<String>) -> [String] {
        guard let query, !query.isEmpty, !allowed.isEmpty else { return [] }
        var kept: [(name: String, pair: String)] = []
        for rawPair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = normalisedPercentEncoding(String(rawPair))
            let name = pair.firstIndex(of: "=").map { String(pair[..<$0]) } ?? pair
            if allowed.contains(name) { kept.append((name, pair)) }
        }
        return kept.enumerated().sorted { lhs, rhs in
            lhs.element.name != rhs.element.name ? lhs.element.name < rhs.element.name : lhs.offset < rhs.offset
        }.map(\.element.pair)
    }

    /// RFC 3986 §6.2.2 normalisation: upper-case hex digits, unreserved characters decoded.
    static func normalisedPercentEncoding(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let value = PathSafety.hexValue(bytes[index + 1], bytes[index + 2])
            {
                if isUnreserved(value) {
                    output.append(value)
                } else {
                    output.append(UInt8(ascii: "%"))
                    output.append(upperHex(value >> 4))
                    output.append(upperHex(value & 0x0F))
                }
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func upperHex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }
}
