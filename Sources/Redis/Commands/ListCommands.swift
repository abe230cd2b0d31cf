public import NIOCore
public import RESP

/// `LPUSH key element...`: the list's length after the push.
public struct LPUSH<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `LPUSH`.
    public static var name: String { "LPUSH" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The elements, pushed one after the other to the head.
    public var elements: [Value]
    /// Creates the command.
    public init(_ key: String, elements: [Value]) {
        self.key = key
        self.elements = elements
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("LPUSH", key, elements) }
}

/// `RPUSH key element...`: the list's length after the push.
public struct RPUSH<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `RPUSH`.
    public static var name: String { "RPUSH" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The elements, appended in order to the tail.
    public var elements: [Value]
    /// Creates the command.
    public init(_ key: String, elements: [Value]) {
        self.key = key
        self.elements = elements
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("RPUSH", key, elements) }
}

/// `LLEN key`: the list's length (0 for a missing key).
public struct LLEN: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `LLEN`.
    public static var name: String { "LLEN" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("LLEN", key) }
}

/// A list element popped by a blocking pop, and the list it came from.
public struct RedisPoppedElement: Sendable, Hashable {
    /// The list's key.
    public var key: String
    /// The element.
    public var element: ByteBuffer
}

/// `BLPOP key... timeout`: pops the head of the first non-empty list, waiting up to `timeout`
/// for one; nil when the wait timed out.
///
/// A blocking command: send it on a connection of its own (see ``RedisBlockingReader``), never on
/// a shared client.
public struct BLPOP: RedisBlockingCommand {
    /// The typed reply.
    public typealias Response = RedisPoppedElement?
    /// `BLPOP`.
    public static var name: String { "BLPOP" }
    /// The lists, in priority order.
    public var keys: [String]
    /// How long the server waits for an element; zero waits forever.
    public var timeout: Duration
    /// Creates the command.
    public init(_ keys: [String], timeout: Duration) {
        self.keys = keys
        self.timeout = timeout
    }
    /// How long the server may hold the reply.
    public var blockingTimeout: Duration? { timeout }
    /// Writes the command (the timeout in seconds, with millisecond precision).
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("BLPOP", keys, Double(timeout.wholeMilliseconds) / 1000)
    }
    /// Reads `[key, element]`, or null on timeout.
    public func decode(_ token: RESPToken) throws(RedisError) -> RedisPoppedElement? {
        try token.decodePoppedElement()
    }
}

/// `BRPOP key... timeout`: pops the tail of the first non-empty list, waiting up to `timeout`
/// for one; nil when the wait timed out.
///
/// A blocking command: send it on a connection of its own (see ``RedisBlockingReader``).
public struct BRPOP: RedisBlockingCommand {
    /// The typed reply.
    public typealias Response = RedisPoppedElement?
    /// `BRPOP`.
    public static var name: String { "BRPOP" }
    /// The lists, in priority order.
    public var keys: [String]
    /// How long the server waits for an element; zero waits forever.
    public var timeout: Duration
    /// Creates the command.
    public init(_ keys: [String], timeout: Duration) {
        self.keys = keys
        self.timeout = timeout
    }
    /// How long the server may hold the reply.
    public var blockingTimeout: Duration? { timeout }
    /// Writes the command (the timeout in seconds, with millisecond precision).
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("BRPOP", keys, Double(timeout.wholeMilliseconds) / 1000)
    }
    /// Reads `[key, element]`, or null on timeout.
    public func decode(_ token: RESPToken) throws(RedisError) -> RedisPoppedElement? {
        try token.decodePoppedElement()
    }
}

extension RESPToken {
    func decodePoppedElement() throws(RedisError) -> RedisPoppedElement? {
        switch value {
        case .null:
            return nil
        case .array(let parts) where parts.count == 2:
            var iterator = parts.makeIterator()
            guard let key = iterator.next(), let element = iterator.next() else { throw .unexpected(self, expected: "[key, element]") }
            return RedisPoppedElement(key: try String(fromRESP: key), element: try ByteBuffer(fromRESP: element))
        default:
            throw .unexpected(self, expected: "[key, element]")
        }
    }
}
