public import NIOCore
public import RESP

/// `DEL key...`: how many keys were removed.
public struct DEL: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `DEL`.
    public static var name: String { "DEL" }
    /// The keys.
    public var keys: [String]
    /// Creates the command.
    public init(_ keys: [String]) { self.keys = keys }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("DEL", keys) }
}

/// `UNLINK key...`: like `DEL`, reclaiming memory in the background.
public struct UNLINK: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `UNLINK`.
    public static var name: String { "UNLINK" }
    /// The keys.
    public var keys: [String]
    /// Creates the command.
    public init(_ keys: [String]) { self.keys = keys }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("UNLINK", keys) }
}

/// `EXISTS key...`: how many of the keys exist.
public struct EXISTS: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `EXISTS`.
    public static var name: String { "EXISTS" }
    /// The keys.
    public var keys: [String]
    /// Creates the command.
    public init(_ keys: [String]) { self.keys = keys }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("EXISTS", keys) }
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]` (or `EXPIRE` for whole seconds): true if set.
public struct EXPIRE: RedisCommand {
    /// The typed reply.
    public typealias Response = Bool
    /// `EXPIRE`.
    public static var name: String { "EXPIRE" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The time to live.
    public var timeToLive: Duration
    /// Creates the command.
    public init(_ key: String, in timeToLive: Duration) {
        self.key = key
        self.timeToLive = timeToLive
    }
    /// Writes `EXPIRE` for whole seconds, `PEXPIRE` otherwise.
    public func encode(into encoder: inout RESPCommandEncoder) {
        let milliseconds = Int(timeToLive.components.seconds) * 1000 + Int(timeToLive.components.attoseconds / 1_000_000_000_000_000)
        if milliseconds % 1000 == 0 {
            encoder.encode("EXPIRE", key, milliseconds / 1000)
        } else {
            encoder.encode("PEXPIRE", key, milliseconds)
        }
    }
}

/// A key's remaining time to live as `TTL`/`PTTL` report it.
public enum RedisTimeToLive: Sendable, Hashable {
    /// The key does not exist (-2).
    case keyDoesNotExist
    /// The key has no expiry (-1).
    case noExpiry
    /// The key expires in this many milliseconds (or seconds, for `TTL`).
    case expires(in: Int)

    init(reply: Int) {
        switch reply {
        case -2: self = .keyDoesNotExist
        case -1: self = .noExpiry
        default: self = .expires(in: reply)
        }
    }
}

/// `PTTL key`: the remaining time to live in milliseconds.
public struct PTTL: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisTimeToLive
    /// `PTTL`.
    public static var name: String { "PTTL" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("PTTL", key) }
    /// Reads the integer reply.
    public func decode(_ token: RESPToken) throws(RedisError) -> RedisTimeToLive {
        RedisTimeToLive(reply: try Int(fromRESP: token))
    }
}

/// `TTL key`: the remaining time to live in seconds.
public struct TTL: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisTimeToLive
    /// `TTL`.
    public static var name: String { "TTL" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("TTL", key) }
    /// Reads the integer reply.
    public func decode(_ token: RESPToken) throws(RedisError) -> RedisTimeToLive {
        RedisTimeToLive(reply: try Int(fromRESP: token))
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`: one page of keys and the next cursor
/// (0 when the iteration is complete).
public struct SCAN: RedisCommand {
    /// One page of a scan.
    public struct Page: Sendable, Hashable {
        /// Pass this to the next `SCAN`; 0 means done.
        public var cursor: UInt64
        /// Keys of this page (may repeat across pages, as Redis documents).
        public var keys: [String]
    }
    /// The typed reply.
    public typealias Response = Page
    /// `SCAN`.
    public static var name: String { "SCAN" }
    /// The cursor; 0 to start.
    public var cursor: UInt64
    /// Glob pattern.
    public var match: String?
    /// Work hint per call.
    public var count: Int?
    /// Only keys of this type (`string`, `hash`, ...).
    public var type: String?
    /// Creates the command.
    public init(cursor: UInt64 = 0, match: String? = nil, count: Int? = nil, type: String? = nil) {
        self.cursor = cursor
        self.match = match
        self.count = count
        self.type = type
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "SCAN", String(cursor), match.map { RESPOption("MATCH", $0) }, count.map { RESPOption("COUNT", $0) },
            type.map { RESPOption("TYPE", $0) }
        )
    }
    /// Reads `[cursor, [keys...]]`.
    public func decode(_ token: RESPToken) throws(RedisError) -> Page {
        guard case .array(let parts) = token.value, parts.count == 2 else { throw .unexpected(token, expected: "scan page") }
        var iterator = parts.makeIterator()
        guard let cursorToken = iterator.next(), let keysToken = iterator.next(),
            let cursor = UInt64(try String(fromRESP: cursorToken))
        else { throw .unexpected(token, expected: "scan page") }
        return Page(cursor: cursor, keys: try [String](fromRESP: keysToken))
    }
}

/// `DUMP key`: the serialized value, or nil if the key does not exist.
public struct DUMP: RedisCommand {
    /// The typed reply.
    public typealias Response = ByteBuffer?
    /// `DUMP`.
    public static var name: String { "DUMP" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("DUMP", key) }
}

/// `RESTORE key ttl serialized [REPLACE] [ABSTTL]`.
public struct RESTORE: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `RESTORE`.
    public static var name: String { "RESTORE" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Time to live in milliseconds; 0 for none.
    public var timeToLiveMilliseconds: Int
    /// Bytes produced by `DUMP`.
    public var serialized: ByteBuffer
    /// Overwrite an existing key.
    public var replace: Bool
    /// Creates the command.
    public init(_ key: String, timeToLiveMilliseconds: Int = 0, serialized: ByteBuffer, replace: Bool = false) {
        self.key = key
        self.timeToLiveMilliseconds = timeToLiveMilliseconds
        self.serialized = serialized
        self.replace = replace
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("RESTORE", key, timeToLiveMilliseconds, serialized, replace ? RESPKeyword("REPLACE") : nil)
    }
}
