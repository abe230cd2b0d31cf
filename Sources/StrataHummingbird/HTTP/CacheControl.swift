/// The directives of a `Cache-Control` field (RFC 9111 §5.2), parsed leniently.
///
/// Directive names are case-insensitive and kept lower-cased; a value may be a token or a
/// quoted string. A malformed `max-age`-style value reads as absent, which makes the response
/// *less* cacheable, never more (a cache must not invent freshness).
public struct CacheControl: Sendable, Hashable {
    /// One directive: its lower-cased name and its value, if any.
    public struct Directive: Sendable, Hashable {
        /// The directive name, lower-cased (`max-age`, `no-store` …).
        public var name: String
        /// The argument after `=`, unquoted; `nil` when the directive has none.
        public var value: String?

        /// Creates a directive.
        public init(_ name: String, _ value: String? = nil) {
            self.name = name.lowercased()
            self.value = value
        }
    }

    /// The directives in the order they were given.
    public var directives: [Directive]

    /// Creates a value from directives.
    public init(_ directives: [Directive] = []) {
        self.directives = directives
    }

    /// Parses every `Cache-Control` field line of a message (several lines are one list).
    ///
    /// - Complexity: O(total length of the lines).
    public init(parsing lines: some Sequence<String>) {
        var directives: [Directive] = []
        for line in lines {
            for element in Self.splitList(line) {
                let trimmed = element.trimmingHTTPWhitespace()
                guard !trimmed.isEmpty else { continue }
                if let equals = trimmed.firstIndex(of: "=") {
                    let name = trimmed[..<equals].trimmingHTTPWhitespace()
                    var value = trimmed[trimmed.index(after: equals)...].trimmingHTTPWhitespace()
                    if value.count >= 2, value.first == "\"", value.last == "\"" {
                        value = String(value.dropFirst().dropLast())
                    }
                    directives.append(Directive(name, value))
                } else {
                    directives.append(Directive(trimmed))
                }
            }
        }
        self.directives = directives
    }

    /// Whether a directive with this (lower-case) name is present.
    public func contains(_ name: String) -> Bool { directives.contains { $0.name == name } }

    /// A delta-seconds directive (`max-age`, `s-maxage`, `stale-if-error` …), or `nil` when it is
    /// absent or malformed. When repeated, the first valid occurrence counts.
    public func seconds(_ name: String) -> Int? {
        for directive in directives where directive.name == name {
            if let value = directive.value, !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                return Int(value) ?? Int.max
            }
        }
        return nil
    }

    /// `no-store` is present.
    public var noStore: Bool { contains("no-store") }
    /// `private` is present (with or without a field list, which shared caches treat alike).
    public var isPrivate: Bool { contains("private") }
    /// `public` is present.
    public var isPublic: Bool { contains("public") }
    /// `no-cache` is present (with or without a field list).
    public var noCache: Bool { contains("no-cache") }

    /// The field value, directives joined with `, `.
    public var fieldValue: String {
        directives.map { directive in
            guard let value = directive.value else { return directive.name }
            let needsQuotes = value.isEmpty || value.contains { $0 == "," || $0 == " " || $0 == "\"" }
            return needsQuotes ? "\(directive.name)=\"\(value)\"" : "\(directive.name)=\(value)"
        }.joined(separator: ", ")
    }

    /// Splits a list on commas outside quoted strings.
    static func splitList(_ line: String) -> [Substring] {
        var parts: [Substring] = []
        var start = line.startIndex
        var inQuotes = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character == "\"" {
                inQuotes.toggle()
            } else if character == ",", !inQuotes {
                parts.append(line[start..<index])
                start = line.index(after: index)
            }
            index = line.index(after: index)
        }
        parts.append(line[start...])
        return parts
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingHTTPWhitespace() -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
