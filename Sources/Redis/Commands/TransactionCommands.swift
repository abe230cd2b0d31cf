public import RESP

/// `MULTI`: starts queueing commands on this connection until `EXEC` or `DISCARD`.
///
/// Connection state: use ``RedisClient/transaction(watching:timeout:_:)`` or
/// ``RedisCommandExecutor/transaction(_:timeout:)`` rather than sending it yourself.
public struct MULTI: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `MULTI`.
    public static var name: String { "MULTI" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("MULTI") }
}

/// `EXEC`: runs the queued commands. The reply is an array of their replies, null when a watched
/// key changed, or an `EXECABORT` error when a command was rejected while queueing.
public struct EXEC: RedisCommand {
    /// `EXEC`.
    public static var name: String { "EXEC" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("EXEC") }
    /// The reply, as is.
    public func decode(_ token: RESPToken) -> RESPToken { token }
}

/// `DISCARD`: drops the queued commands and unwatches every key.
public struct DISCARD: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `DISCARD`.
    public static var name: String { "DISCARD" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("DISCARD") }
}

/// `WATCH key...`: makes the next `EXEC` on this connection fail (null reply) if any of the keys
/// is modified before it.
public struct WATCH: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `WATCH`.
    public static var name: String { "WATCH" }
    /// The keys.
    public var keys: [String]
    /// Creates the command.
    public init(_ keys: [String]) { self.keys = keys }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("WATCH", keys) }
}

/// `UNWATCH`: forgets every watched key of this connection.
public struct UNWATCH: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `UNWATCH`.
    public static var name: String { "UNWATCH" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("UNWATCH") }
}
