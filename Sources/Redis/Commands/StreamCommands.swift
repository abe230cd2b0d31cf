public import RESP

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [~] n] id field value ...`: appends an entry and returns
/// its id, or nil when `noMakeStream` is set and the stream does not exist.
public struct XADD<Value: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = String?
    /// `XADD`.
    public static var name: String { "XADD" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// `*` for a server-generated id, or an explicit id greater than the stream's last.
    public var id: String
    /// The field/value pairs (at least one).
    public var fields: [(field: String, value: Value)]
    /// Trims the stream in the same command.
    public var trim: RedisStreamTrim?
    /// `NOMKSTREAM`: do not create a missing stream.
    public var noMakeStream: Bool

    /// Creates the command.
    public init(
        _ key: String, id: String = "*", fields: [(field: String, value: Value)], trim: RedisStreamTrim? = nil,
        noMakeStream: Bool = false
    ) {
        self.key = key
        self.id = id
        self.fields = fields
        self.trim = trim
        self.noMakeStream = noMakeStream
    }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        let makeStream: RESPKeyword? = noMakeStream ? RESPKeyword("NOMKSTREAM") : nil
        let fieldCount = fields.reduce(0) { $0 + 1 + $1.value.respArgumentCount }
        encoder.writeArrayHeader(3 + makeStream.respArgumentCount + trim.respArgumentCount + fieldCount)
        encoder.writeBulk("XADD" as StaticString)
        encoder.writeBulk(key)
        makeStream.encode(into: &encoder)
        trim.encode(into: &encoder)
        encoder.writeBulk(id)
        for pair in fields {
            encoder.writeBulk(pair.field)
            pair.value.encode(into: &encoder)
        }
    }
}

/// `XTRIM key MAXLEN|MINID [~] n`: how many entries were removed.
public struct XTRIM: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `XTRIM`.
    public static var name: String { "XTRIM" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The trimming strategy.
    public var trim: RedisStreamTrim
    /// Creates the command.
    public init(_ key: String, _ trim: RedisStreamTrim) {
        self.key = key
        self.trim = trim
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XTRIM", key, trim) }
}

/// `XDEL key id...`: how many entries were deleted. Pending references to them stay in consumer
/// groups until acknowledged or claimed (see ``XAUTOCLAIM``).
public struct XDEL: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `XDEL`.
    public static var name: String { "XDEL" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The entry ids.
    public var ids: [String]
    /// Creates the command.
    public init(_ key: String, ids: [String]) {
        self.key = key
        self.ids = ids
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XDEL", key, ids) }
}

/// `XLEN key`: the number of entries (0 for a missing stream).
public struct XLEN: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `XLEN`.
    public static var name: String { "XLEN" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XLEN", key) }
}

/// `XRANGE key start end [COUNT n]`: entries with ids between `start` and `end` inclusive (`-`
/// and `+` for the ends of the stream; `(id` for exclusive).
public struct XRANGE: RedisCommand {
    /// The typed reply.
    public typealias Response = [RedisStreamEntry]
    /// `XRANGE`.
    public static var name: String { "XRANGE" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The first id.
    public var start: String
    /// The last id.
    public var end: String
    /// At most this many entries.
    public var count: Int?
    /// Creates the command.
    public init(_ key: String, start: String = "-", end: String = "+", count: Int? = nil) {
        self.key = key
        self.start = start
        self.end = end
        self.count = count
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("XRANGE", key, start, end, count.map { RESPOption("COUNT", $0) })
    }
    /// Reads the entries.
    public func decode(_ token: RESPToken) throws(RedisError) -> [RedisStreamEntry] {
        try RedisStreamEntry.list(fromRESP: token)
    }
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS key... id...`: entries after each id, by stream key (empty
/// when a block timed out). `$` reads only entries added after the call.
///
/// With ``block`` set this is a blocking command: send it on a connection of its own (see
/// ``RedisBlockingReader``), never on a shared client.
public struct XREAD: RedisBlockingCommand {
    /// The typed reply.
    public typealias Response = [String: [RedisStreamEntry]]
    /// `XREAD`.
    public static var name: String { "XREAD" }
    /// Each stream's key and the id to read after.
    public var streams: [(key: String, id: String)]
    /// The stream keys, for routing in a cluster.
    public var keys: [String] { streams.map(\.key) }
    /// At most this many entries per stream.
    public var count: Int?
    /// Wait up to this long for an entry (whole milliseconds; zero waits forever).
    public var block: Duration?
    /// Creates the command.
    public init(streams: [(key: String, id: String)], count: Int? = nil, block: Duration? = nil) {
        self.streams = streams
        self.count = count
        self.block = block
    }
    /// How long the server may hold the reply.
    public var blockingTimeout: Duration? { block }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XREAD", count.map { RESPOption("COUNT", $0) }, block.map { RESPOption("BLOCK", $0.wholeMilliseconds) },
            RESPKeyword("STREAMS"), streams.map(\.key), streams.map(\.id)
        )
    }
    /// Reads a map (RESP3) or `[key, entries]` pairs (RESP2); null is empty.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: [RedisStreamEntry]] {
        try token.decodeStreamReads()
    }
}

/// `XACK key group id...`: how many entries were acknowledged (removed from the group's pending
/// list). Acknowledge after the work an entry asked for is committed, not before.
public struct XACK: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `XACK`.
    public static var name: String { "XACK" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The consumer group.
    public var group: String
    /// The entry ids.
    public var ids: [String]
    /// Creates the command.
    public init(_ key: String, group: String, ids: [String]) {
        self.key = key
        self.group = group
        self.ids = ids
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XACK", key, group, ids) }
}
