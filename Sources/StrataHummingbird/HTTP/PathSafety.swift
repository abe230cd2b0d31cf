/// Recognises request paths that different components could read differently — the raw
/// material of web cache deception (a CDN that caches `/account/x.css` as a stylesheet while the
/// application serves the account page) and of path confusion between the edge and the router.
///
/// Pure functions over the raw (still percent-encoded) request target.
public enum PathSafety {
    /// Why a path is ambiguous.
    public struct Ambiguity: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case encodedDelimiter = "encoded-delimiter"
            case pathParameter = "path-parameter"
            case dotSegment = "dot-segment"
            case emptySegment = "empty-segment"
            case backslash
            case controlOrNonASCII = "control-or-non-ascii"
            case notAbsolute = "not-absolute"
            case staticSuffixOnDynamicRoute = "static-suffix-on-dynamic-route"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `%2F`, `%5C`, `%3F`, `%23`, `%2E`, `%3B`, `%25`, `%00`, `%0D`, `%0A` (any case): a
        /// delimiter that one parser decodes and another does not.
        public static let encodedDelimiter = Ambiguity(.encodedDelimiter)
        /// `;` (matrix / path parameters, which some servers strip and others keep).
        public static let pathParameter = Ambiguity(.pathParameter)
        /// A `.` or `..` segment.
        public static let dotSegment = Ambiguity(.dotSegment)
        /// `//` (an empty segment, which the router skips but a CDN keys on).
        public static let emptySegment = Ambiguity(.emptySegment)
        /// A raw `\`.
        public static let backslash = Ambiguity(.backslash)
        /// A control character, a space or a byte outside ASCII.
        public static let controlOrNonASCII = Ambiguity(.controlOrNonASCII)
        /// A path that does not start with `/`.
        public static let notAbsolute = Ambiguity(.notAbsolute)
        /// A static-file extension (`.css`, `.js` …) in a segment the route captured as a parameter.
        public static let staticSuffixOnDynamicRoute = Ambiguity(.staticSuffixOnDynamicRoute)

        /// A short stable label (used as a metric dimension).
        public var description: String { base.rawValue }
    }

    /// Extensions that CDNs commonly cache by default, whatever the origin says.
    public static let defaultStaticExtensions: Set<String> = [
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "svgz", "ico", "bmp", "tif",
        "tiff", "woff", "woff2", "ttf", "otf", "eot", "pdf", "zip", "gz", "tar", "mp3", "mp4", "webm", "ogg", "txt",
        "csv", "xml", "swf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "bin", "exe", "jar", "class",
    ]

    /// The first ambiguity of a raw path, or `nil` when the path reads the same everywhere.
    ///
    /// - Complexity: O(n) in the path length.
    public static func ambiguity(ofRawPath path: String) -> Ambiguity? {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return .notAbsolute }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0...0x20, 0x7F...0xFF:
                return .controlOrNonASCII
            case UInt8(ascii: "\\"):
                return .backslash
            case UInt8(ascii: ";"):
                return .pathParameter
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.count, let value = hexValue(bytes[index + 1], bytes[index + 2]) else {
                    return .encodedDelimiter
                }
                if encodedDelimiters.contains(value) { return .encodedDelimiter }
                index += 2
            case UInt8(ascii: "/"):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") { return .emptySegment }
            default:
                break
            }
            index += 1
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." {
            return .dotSegment
        }
        return nil
    }

    /// Whether the last segment of `path` carries one of `extensions` while the matched route
    /// pattern's last component does not end in that same literal suffix — that is, the extension
    /// came from a parameter or a wildcard, so a CDN would see a "static file" where the
    /// application sees a dynamic route.
    ///
    /// - Parameters:
    ///   - path: the raw request path.
    ///   - routePattern: the router's matched pattern (`/account/{section}`, `/files/**`).
    ///   - extensions: lower-case extensions without the dot.
    public static func hasStaticSuffixOnDynamicRoute(path: String, routePattern: String, extensions: Set<String>) -> Bool {
        guard let last = path.split(separator: "/").last, let dot = last.lastIndex(of: ".") else { return false }
        let suffix = last[last.index(after: dot)...].lowercased()
        guard extensions.contains(suffix) else { return false }
        // `{name}.css` or `site.css` end in the literal suffix: the route itself serves that type.
        guard let patternLast = routePattern.split(separator: "/").last else { return true }
        return !patternLast.lowercased().hasSuffix("." + suffix)
    }

    private static let encodedDelimiters: Set<UInt8> = [
        UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "."),
        UInt8(ascii: ";"), UInt8(ascii: "%"), 0x00, 0x0D, 0x0A,
    ]

    static func hexValue(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let high = hexDigit(high), let low = hexDigit(low) else { return nil }
        return high << 4 | low
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
