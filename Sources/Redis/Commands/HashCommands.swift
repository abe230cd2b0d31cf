public import NIOCore
public import RESP

/// `HGET key field`: the field's value, or nil.
public struct HGET: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `HGET`.
    public static var name: String { "HGET" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The field.
    public var field: String
    /// Creates the command.
    public init(_ key: String, field: String) {
        self.key = key
        self.field = field
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("HGET", key, field) }
}

/// `HMGET key field...`: one optional value per field.
public struct HMGET: RedisCommand {
    /// The typed reply.
    public typealias Response = [ByteBuffer?]
    /// `HMGET`.
    public static var name: String { "HMGET" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The fields.
    public var fields: [String]
    /// Creates the command.
    public init(_ key: String, fields: [String]) {
        self.key = key
        self.fields = fields
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("HMGET", key, fields) }
}

/// `HSET key field value ...`: how many fields were added (not updated).
public struct HSET<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `HSET`.
    public static var name: String { "HSET" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The field/value pairs.
    public var fields: [(field: String, value: Value)]
    /// Creates the command.
    public init(_ key: String, fields: [(field: String, value: Value)]) {
        self.key = key
        self.fields = fields
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.writeArrayHeader(2 + fields.reduce(0) { $0 + 1 + $1.value.respArgumentCount })
        encoder.writeBulk("HSET" as StaticString)
        encoder.writeBulk(key)
        for pair in fields {
            encoder.writeBulk(pair.field)
            pair.value.encode(into: &encoder)
        }
    }
}

/// `HDEL key field...`: how many fields were removed.
public struct HDEL: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `HDEL`.
    public static var name: String { "HDEL" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The fields.
    public var fields: [String]
    /// Creates the command.
    public init(_ key: String, fields: [String]) {
        self.key = key
        self.fields = fields
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("HDEL", key, fields) }
}

/// `HINCRBY key field increment`: the new value.
public struct HINCRBY: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `HINCRBY`.
    public static var name: String { "HINCRBY" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The field.
    public var field: String
    /// The increment.
    public var increment: Int
    /// Creates the command.
    public init(_ key: String, field: String, by increment: Int) {
        self.key = key
        self.field = field
        self.increment = increment
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("HINCRBY", key, field, increment) }
}

/// `HGETALL key`: every field and value (RESP3 map or RESP2 flat array).
public struct HGETALL: RedisCommand {
    /// The typed reply.
    public typealias Response = [String: ByteBuffer]
    /// `HGETALL`.
    public static var name: String { "HGETALL" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("HGETALL", key) }
    /// Reads a map, or a flat array of alternating fields and values.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: ByteBuffer] {
        try token.decodeStringMap()
    }
}

extension RESPToken {
    /// Reads a RESP3 map or a RESP2 flat array of alternating keys and values.
    func decodeStringMap<Value: RESPDecodable>(as: Value.Type = Value.self) throws(RedisError) -> [String: Value] {
        var result: [String: Value] = [:]
        switch value {
        case .map(let pairs):
            for (key, value) in pairs { result[try String(fromRESP: key)] = try Value(fromRESP: value) }
        case .array(let elements):
            var iterator = elements.makeIterator()
            while let key = iterator.next() {
                guard let value = iterator.next() else { throw .unexpected(self, expected: "even-length array") }
                result[try String(fromRESP: key)] = try Value(fromRESP: value)
            }
        default:
            throw .unexpected(self, expected: "map")
        }
        return result
    }
}
