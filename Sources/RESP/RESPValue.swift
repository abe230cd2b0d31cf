public import NIOCore

/// A RESP value that owns its contents: convenient for tests, tooling and generic commands.
///
/// Replies on the hot path stay ``RESPToken``s; build a `RESPValue` only when you want a whole
/// tree (`RESPValue(token)`), or to write a reply in tests and fake servers (``encode(into:)``).
public indirect enum RESPValue: Hashable, Sendable {
    /// `+...`
    case simpleString(String)
    /// `-...`
    case simpleError(String)
    /// `:...`
    case integer(Int)
    /// `$...`
    case bulkString(ByteBuffer)
    /// RESP2 null bulk/array or RESP3 `_`.
    case null
    /// `#t` / `#f`
    case boolean(Bool)
    /// `,...`
    case double(Double)
    /// `(...`, as decimal digits.
    case bigNumber(String)
    /// `!...`
    case bulkError(ByteBuffer)
    /// `=fmt:...`. The format must be exactly three UTF-8 bytes (such as `txt` or `mkd`) for
    /// ``encode(into:)`` to write a valid reply.
    case verbatimString(format: String, String)
    /// `*...`
    case array([RESPValue])
    /// `~...`
    case set([RESPValue])
    /// `%...`, as ordered pairs.
    case map([Pair])
    /// `>...`
    case push([RESPValue])
    /// `|...` followed by the value it annotates.
    case attributed(attributes: [Pair], RESPValue)

    /// A key/value pair of a map or attribute.
    public struct Pair: Hashable, Sendable {
        /// The key.
        public var key: RESPValue
        /// The value.
        public var value: RESPValue
        /// Creates a pair.
        public init(_ key: RESPValue, _ value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    /// Copies a token into an owned tree.
    public init(_ token: RESPToken) {
        if let attributes = token.attributes, let annotated = token.annotatedValue {
            // Recurse on the annotated token, not on `token.value`: the latter skips every
            // attribute map, which would drop the maps of an attribute that follows an attribute.
            self = .attributed(
                attributes: attributes.map { Pair(RESPValue($0.key), RESPValue($0.value)) },
                RESPValue(annotated)
            )
        } else {
            self = RESPValue(typed: token.value)
        }
    }

    private init(typed: RESPTypedValue) {
        switch typed {
        case .simpleString(let b): self = .simpleString(String(buffer: b))
        case .simpleError(let b): self = .simpleError(String(buffer: b))
        case .integer(let i): self = .integer(i)
        case .bulkString(let b): self = .bulkString(b)
        case .null: self = .null
        case .boolean(let b): self = .boolean(b)
        case .double(let d): self = .double(d)
        case .bigNumber(let b): self = .bigNumber(String(buffer: b))
        case .bulkError(let b): self = .bulkError(b)
        case .verbatimString(let format, let b): self = .verbatimString(format: Self.verbatimFormat(format), String(buffer: b))
        case .array(let a): self = .array(a.map(RESPValue.init))
        case .set(let a): self = .set(a.map(RESPValue.init))
        case .push(let a): self = .push(a.map(RESPValue.init))
        case .map(let m): self = .map(m.map { Pair(RESPValue($0.key), RESPValue($0.value)) })
        }
    }

    /// The three format bytes of a verbatim string as a String that is still three UTF-8 bytes.
    /// Invalid UTF-8 would otherwise become U+FFFD (three bytes per bad byte), and re-encoding
    /// that value would write a format longer than three bytes, which no decoder accepts; so
    /// each non-ASCII byte of an invalid format becomes `?` instead.
    private static func verbatimFormat(_ format: ByteBuffer) -> String {
        let bytes = format.readableBytesView
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        return String(decoding: bytes.map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// A bulk string holding a String's UTF-8 bytes.
    public static func bulkString(_ string: String) -> RESPValue { .bulkString(ByteBuffer(string: string)) }

    /// Writes this value in RESP3 wire format (RESP2 callers should stick to RESP2 types).
    public func encode(into buffer: inout ByteBuffer) {
        func line(_ type: Character, _ text: String) {
            buffer.writeString("\(type)\(text)\r\n")
        }
        func blob(_ type: Character, _ bytes: ByteBuffer) {
            buffer.writeString("\(type)\(bytes.readableBytes)\r\n")
            buffer.writeImmutableBuffer(bytes)
            buffer.writeString("\r\n")
        }
        switch self {
        case .simpleString(let s): line("+", s)
        case .simpleError(let s): line("-", s)
        case .integer(let i): line(":", String(i))
        case .bulkString(let b): blob("$", b)
        case .null: buffer.writeString("_\r\n")
        case .boolean(let b): line("#", b ? "t" : "f")
        case .double(let d): line(",", d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : "\(d)")
        case .bigNumber(let s): line("(", s)
        case .bulkError(let b): blob("!", b)
        case .verbatimString(let format, let s): blob("=", ByteBuffer(string: "\(format):\(s)"))
        case .array(let a):
            line("*", String(a.count))
            for v in a { v.encode(into: &buffer) }
        case .set(let a):
            line("~", String(a.count))
            for v in a { v.encode(into: &buffer) }
        case .push(let a):
            line(">", String(a.count))
            for v in a { v.encode(into: &buffer) }
        case .map(let pairs):
            line("%", String(pairs.count))
            for p in pairs {
                p.key.encode(into: &buffer)
                p.value.encode(into: &buffer)
            }
        case .attributed(let pairs, let value):
            line("|", String(pairs.count))
            for p in pairs {
                p.key.encode(into: &buffer)
                p.value.encode(into: &buffer)
            }
            value.encode(into: &buffer)
        }
    }
}
