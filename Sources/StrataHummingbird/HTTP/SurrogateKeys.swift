public import HTTPTypes

/// How responses announce their tags (surrogate keys) to the edge.
public struct SurrogateKeyStyle: Sendable, Hashable {
    /// The response header that carries the tags.
    public var header: HTTPField.Name
    /// What separates tags in that header.
    public var separator: String

    /// Creates a style.
    public init(header: HTTPField.Name, separator: String) {
        self.header = header
        self.separator = separator
    }

    /// Varnish with vmod xkey: `xkey: a b c`.
    public static let xkey = SurrogateKeyStyle(header: HTTPField.Name("xkey")!, separator: " ")
    /// Fastly: `Surrogate-Key: a b c`.
    public static let surrogateKey = SurrogateKeyStyle(header: HTTPField.Name("Surrogate-Key")!, separator: " ")
    /// Cloudflare: `Cache-Tag: a,b,c`.
    public static let cacheTag = SurrogateKeyStyle(header: HTTPField.Name("Cache-Tag")!, separator: ",")

    func render(_ tags: [String]) -> String { tags.joined(separator: separator) }
}

/// Tag rules shared by the middleware, the index and the purgers.
public enum SurrogateKeys {
    /// The response header a handler may set to add tags (space-separated) to its response; the
    /// cache reads and removes it.
    public static let handlerTagsHeader = HTTPField.Name("Strata-Tags")!

    /// Whether `tag` can travel in every header style and as part of a Redis key: 1–128 bytes of
    /// letters, digits, `-`, `_`, `.` and `:`.
    public static func isValid(_ tag: String) -> Bool {
        let utf8 = tag.utf8
        return !utf8.isEmpty && utf8.count <= 128 && utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: ":"):
                true
            default:
                false
            }
        }
    }

    /// Request headers that carry credentials (RFC 9111 §3.5 and common practice).
    static let credentialHeaders: Set<String> = ["authorization", "cookie"]
}
