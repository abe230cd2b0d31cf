public import NIOCore
public import RESP

/// `GET key`: the value, or nil.
public struct GET: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `GET`.
    public static var name: String { "GET" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("GET", key) }
}

/// When a `SET` expires its key.
public enum RedisExpiration: Sendable, Hashable, RESPArgument {
    /// `EX seconds`.
    case seconds(Int)
    /// `PX milliseconds`.
    case milliseconds(Int)
    /// `EXAT unix-seconds`.
    case atUnixSeconds(Int)
    /// `PXAT unix-milliseconds`.
    case atUnixMilliseconds(Int)
    /// `KEEPTTL`: keep the key's current time to live.
    case keepTTL

    /// Two arguments, or one for `KEEPTTL`.
    public var respArgumentCount: Int { self == .keepTTL ? 1 : 2 }
    /// Writes the option.
    public func encode(into encoder: inout RESPCommandEncoder) {
        switch self {
        case .seconds(let value): RESPOption("EX", value).encode(into: &encoder)
        case .milliseconds(let value): RESPOption("PX", value).encode(into: &encoder)
        case .atUnixSeconds(let value): RESPOption("EXAT", value).encode(into: &encoder)
        case .atUnixMilliseconds(let value): RESPOption("PXAT", value).encode(into: &encoder)
        case .keepTTL: encoder.writeBulk("KEEPTTL" as StaticString)
        }
    }
}

/// The existence condition of a `SET`.
public enum RedisSetCondition: Sendable, Hashable, RESPArgument {
    /// `NX`: only if the key does not exist.
    case ifNotExists
    /// `XX`: only if the key exists.
    case ifExists

    /// One argument.
    public var respArgumentCount: Int { 1 }
    /// Writes `NX` or `XX`.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.writeBulk(self == .ifNotExists ? "NX" as StaticString : "XX")
    }
}

/// `SET key value [NX|XX] [EX|PX|EXAT|PXAT|KEEPTTL]`: true when the value was stored.
public struct SET<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Bool
    /// `SET`.
    public static var name: String { "SET" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The value.
    public var value: Value
    /// Optional expiry.
    public var expiration: RedisExpiration?
    /// Optional condition.
    public var condition: RedisSetCondition?

    /// Creates the command.
    public init(_ key: String, _ value: Value, expiration: RedisExpiration? = nil, condition: RedisSetCondition? = nil) {
        self.key = key
        self.value = value
        self.expiration = expiration
        self.condition = condition
    }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("SET", key, value, condition, expiration)
    }

    /// `OK` is true; a null reply (condition not met) is false.
    public func decode(_ token: RESPToken) -> Bool {
        if token.isNull { return false }
        return true
    }
}

/// `SET key value ... GET`: the previous value, or nil. With a condition, the value is stored only
/// if the condition held.
public struct SETGET<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `SET`.
    public static var name: String { "SET" }
    /// The plain `SET` this extends.
    public var set: SET<Value>
    /// `[set.key]`: the key that routes the command in a cluster.
    public var keys: [String] { [set.key] }
    /// Creates the command.
    public init(_ set: SET<Value>) { self.set = set }
    /// Writes the command with `GET`.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("SET", set.key, set.value, set.condition, set.expiration, RESPKeyword("GET"))
    }
}

/// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value, with its expiry changed.
public struct GETEX: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `GETEX`.
    public static var name: String { "GETEX" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The new expiry; nil with `persist` false leaves it unchanged.
    public var expiration: RedisExpiration?
    /// Removes the expiry (`PERSIST`).
    public var persist: Bool
    /// Creates the command.
    public init(_ key: String, expiration: RedisExpiration? = nil, persist: Bool = false) {
        self.key = key
        self.expiration = expiration
        self.persist = persist
    }
    /// Writes the command (`KEEPTTL` is not valid here and is written as nothing).
    public func encode(into encoder: inout RESPCommandEncoder) {
        let expiry = expiration == .keepTTL ? nil : expiration
        encoder.encode("GETEX", key, expiry, persist ? RESPKeyword("PERSIST") : nil)
    }
}

/// `GETDEL key`: the value, deleting the key.
public struct GETDEL: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `GETDEL`.
    public static var name: String { "GETDEL" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("GETDEL", key) }
}

/// `MGET key...`: one optional value per key.
public struct MGET: RedisCommand {
    /// The typed reply.
    public typealias Response = [ByteBuffer?]
    /// `MGET`.
    public static var name: String { "MGET" }
    /// The keys.
    public var keys: [String]
    /// Creates the command.
    public init(_ keys: [String]) { self.keys = keys }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("MGET", keys) }
}

/// `MSET key value ...`.
public struct MSET<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `MSET`.
    public static var name: String { "MSET" }
    /// The pairs.
    public var pairs: [(key: String, value: Value)]
    /// The keys of the pairs, for routing in a cluster.
    public var keys: [String] { pairs.map(\.key) }
    /// Creates the command.
    public init(_ pairs: [(key: String, value: Value)]) { self.pairs = pairs }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.writeArrayHeader(1 + pairs.reduce(0) { $0 + 1 + $1.value.respArgumentCount })
        encoder.writeBulk("MSET" as StaticString)
        for pair in pairs {
            encoder.writeBulk(pair.key)
            pair.value.encode(into: &encoder)
        }
    }
}

/// `INCRBY key increment` (`INCR` when the increment is 1): the new value.
public struct INCRBY: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `INCRBY`.
    public static var name: String { "INCRBY" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The increment.
    public var increment: Int
    /// Creates the command.
    public init(_ key: String, by increment: Int = 1) {
        self.key = key
        self.increment = increment
    }
    /// Writes `INCR` or `INCRBY`.
    public func encode(into encoder: inout RESPCommandEncoder) {
        if increment == 1 { encoder.encode("INCR", key) } else { encoder.encode("INCRBY", key, increment) }
    }
}
