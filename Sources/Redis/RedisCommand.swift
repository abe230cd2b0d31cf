public import NIOCore
public import RESP

/// A Redis command: how to write it and how to read its reply.
///
/// Commands encode straight into the connection's output buffer; no argument array is built.
/// Error replies never reach ``decode(_:)``: the client turns them into ``RedisError`` first.
public protocol RedisCommand: Sendable {
    /// The typed result of the command.
    associatedtype Response: Sendable = RESPToken
    /// The command's name, for metrics, logs and errors (never its arguments).
    static var name: String { get }
    /// Writes the command.
    func encode(into encoder: inout RESPCommandEncoder)
    /// Turns the (non-error) reply into the typed result.
    func decode(_ token: RESPToken) throws(RedisError) -> Response
}

extension RedisCommand where Response: RESPDecodable {
    /// Decodes the reply with the response type's ``RESPDecodable`` conformance.
    public func decode(_ token: RESPToken) throws(RedisError) -> Response {
        try Response(fromRESP: token)
    }
}

/// A type that can be read from a RESP reply.
public protocol RESPDecodable: Sendable {
    /// Reads a value from a non-error reply, throwing ``RedisError/Code-swift.struct/unexpectedReply`` on a shape mismatch.
    init(fromRESP token: RESPToken) throws(RedisError)
}

extension RESPToken: RESPDecodable {
    /// The token itself.
    public init(fromRESP token: RESPToken) { self = token }
}

extension RESPValue: RESPDecodable {
    /// An owned copy of the reply.
    public init(fromRESP token: RESPToken) { self.init(token) }
}

extension ByteBuffer: RESPDecodable {
    /// A bulk, simple or verbatim string's bytes.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .bulkString(let bytes), .simpleString(let bytes), .verbatimString(_, let bytes): self = bytes
        default: throw .unexpected(token, expected: "string")
        }
    }
}

extension String: RESPDecodable {
    /// A bulk, simple or verbatim string as UTF-8, or an integer/double as its decimal text.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .bulkString(let bytes), .simpleString(let bytes), .verbatimString(_, let bytes), .bigNumber(let bytes):
            self = String(buffer: bytes)
        case .integer(let value): self = String(value)
        case .double(let value): self = String(value)
        default: throw .unexpected(token, expected: "string")
        }
    }
}

extension Int: RESPDecodable {
    /// An integer, or a string holding a decimal integer (RESP2 sends some numbers as strings).
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .integer(let value): self = value
        case .bulkString(let bytes), .simpleString(let bytes):
            guard let value = Int(String(buffer: bytes)) else { throw .unexpected(token, expected: "integer") }
            self = value
        default: throw .unexpected(token, expected: "integer")
        }
    }
}

extension Double: RESPDecodable {
    /// A RESP3 double, an integer, or a string holding a decimal.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .double(let value): self = value
        case .integer(let value): self = Double(value)
        case .bulkString(let bytes), .simpleString(let bytes):
            guard let value = Double(String(buffer: bytes)) else { throw .unexpected(token, expected: "double") }
            self = value
        default: throw .unexpected(token, expected: "double")
        }
    }
}

extension Bool: RESPDecodable {
    /// A RESP3 boolean, or an integer (0 is false).
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .boolean(let value): self = value
        case .integer(let value): self = value != 0
        default: throw .unexpected(token, expected: "boolean")
        }
    }
}

extension Optional: RESPDecodable where Wrapped: RESPDecodable {
    /// nil for a null reply, otherwise the wrapped type.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        if token.isNull {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: token))
        }
    }
}

extension Array: RESPDecodable where Element: RESPDecodable {
    /// The elements of an array, set or push frame.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        switch token.value {
        case .array(let elements), .set(let elements), .push(let elements):
            var result: [Element] = []
            result.reserveCapacity(elements.count)
            for element in elements { result.append(try Element(fromRESP: element)) }
            self = result
        default: throw .unexpected(token, expected: "array")
        }
    }
}

/// Acknowledgement replies such as `+OK`.
public struct RedisOK: RESPDecodable, Hashable {
    /// Accepts any non-error reply.
    public init(fromRESP token: RESPToken) {}
}

extension RedisError {
    static func unexpected(_ token: RESPToken, expected: String) -> RedisError {
        RedisError(.unexpectedReply, serverMessage: "expected \(expected), got type byte \(token.bytes.getInteger(at: token.bytes.readerIndex, as: UInt8.self) ?? 0)")
    }
}

/// Any command, given as its arguments (the first being the name); the reply is returned as is.
public struct RawCommand: RedisCommand {
    /// Named by the first argument at runtime; see ``commandName``.
    public static var name: String { "RAW" }
    /// The command name (first argument), upper-cased, for metrics.
    public let commandName: String
    /// All arguments including the command name.
    public let arguments: [String]

    /// Creates a raw command from its arguments, such as `["CLIENT", "NO-EVICT", "on"]`.
    public init(_ arguments: [String]) {
        self.arguments = arguments
        self.commandName = arguments.first?.uppercased() ?? ""
    }

    /// Writes all arguments.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode(arguments: arguments) }
    /// The reply token.
    public func decode(_ token: RESPToken) -> RESPToken { token }
}
