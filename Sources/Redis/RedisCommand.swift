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
    /// The keys the command reads or writes, in argument order; empty when it has none.
    ///
    /// A ``RedisClusterClient`` routes a command by the hash slot of its keys: keys of one
    /// command must share a slot (use a hash tag, `{user:1}:a` and `{user:1}:b`), or the client
    /// refuses the command before sending it (`MGET`, `DEL`, `UNLINK` and `EXISTS` are split by
    /// slot instead). A command without keys goes to any primary. The default is no keys, so a
    /// command that touches keys must list them here.
    var keys: [String] { get }
    /// Writes the command.
    func encode(into encoder: inout RESPCommandEncoder)
    /// Turns the (non-error) reply into the typed result.
    func decode(_ token: RESPToken) throws(RedisError) -> Response
}

extension RedisCommand {
    /// No keys: a cluster client sends the command to any primary.
    public var keys: [String] { [] }
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
    /// The keys among the arguments, as given to ``init(_:keys:)``: a cluster client routes by them.
    public let keys: [String]

    /// Creates a raw command from its arguments, such as `["CLIENT", "NO-EVICT", "on"]`.
    ///
    /// - Parameter keys: the keys among `arguments`. A cluster client cannot tell keys from other
    ///   arguments, so a raw command without them goes to any primary (and follows a `MOVED`).
    public init(_ arguments: [String], keys: [String] = []) {
        self.arguments = arguments
        self.keys = keys
        self.commandName = arguments.first?.uppercased() ?? ""
    }

    /// Writes all arguments.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode(arguments: arguments) }
    /// The reply token.
    public func decode(_ token: RESPToken) -> RESPToken { token }
}
