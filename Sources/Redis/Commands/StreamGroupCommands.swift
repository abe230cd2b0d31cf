public import RESP

/// `XGROUP CREATE key group id [MKSTREAM] [ENTRIESREAD n]`: creates a consumer group that will
/// deliver entries after `id` (`$`: only new entries; `0`: the whole stream).
///
/// Fails with ``RedisError/Code-swift.struct/busyGroup`` when the group exists; see
/// ``RedisCommandExecutor/createGroupIfMissing(_:group:startingAfter:makeStream:)``.
public struct XGROUPCREATE: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `XGROUP`.
    public static var name: String { "XGROUP" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The group's name.
    public var group: String
    /// The last id considered delivered.
    public var id: String
    /// `MKSTREAM`: create an empty stream if it does not exist.
    public var makeStream: Bool
    /// `ENTRIESREAD`: how many entries the group is considered to have read (for lag reporting).
    public var entriesRead: Int?
    /// Creates the command.
    public init(_ key: String, group: String, id: String = "$", makeStream: Bool = false, entriesRead: Int? = nil) {
        self.key = key
        self.group = group
        self.id = id
        self.makeStream = makeStream
        self.entriesRead = entriesRead
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XGROUP", "CREATE", key, group, id, makeStream ? RESPKeyword("MKSTREAM") : nil,
            entriesRead.map { RESPOption("ENTRIESREAD", $0) }
        )
    }
}

/// `XGROUP DESTROY key group`: true if the group existed. Its pending entries are forgotten.
public struct XGROUPDESTROY: RedisCommand {
    /// The typed reply.
    public typealias Response = Bool
    /// `XGROUP`.
    public static var name: String { "XGROUP" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The group's name.
    public var group: String
    /// Creates the command.
    public init(_ key: String, group: String) {
        self.key = key
        self.group = group
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XGROUP", "DESTROY", key, group) }
}

/// `XGROUP DELCONSUMER key group consumer`: how many entries the consumer still had pending
/// (they are dropped, not reassigned: claim them first).
public struct XGROUPDELCONSUMER: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `XGROUP`.
    public static var name: String { "XGROUP" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The group's name.
    public var group: String
    /// The consumer's name.
    public var consumer: String
    /// Creates the command.
    public init(_ key: String, group: String, consumer: String) {
        self.key = key
        self.group = group
        self.consumer = consumer
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("XGROUP", "DELCONSUMER", key, group, consumer)
    }
}

/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...`: entries by
/// stream key (empty when a block timed out).
///
/// The id `>` asks for entries never delivered to the group; they join this consumer's pending
/// list until acknowledged with ``XACK``. Any other id (usually `0`) re-reads this consumer's own
/// pending entries after it, which is how a restarted consumer resumes; entries deleted since are
/// reported with ``RedisStreamEntry/isDeleted`` set.
///
/// With ``block`` set this is a blocking command: send it on a connection of its own (see
/// ``RedisBlockingReader``), never on a shared client.
public struct XREADGROUP: RedisBlockingCommand {
    /// The typed reply.
    public typealias Response = [String: [RedisStreamEntry]]
    /// `XREADGROUP`.
    public static var name: String { "XREADGROUP" }
    /// The consumer group.
    public var group: String
    /// This consumer's name, unique within the group and stable across restarts.
    public var consumer: String
    /// Each stream's key and the id to read after (`>` for new entries).
    public var streams: [(key: String, id: String)]
    /// The stream keys, for routing in a cluster.
    public var keys: [String] { streams.map(\.key) }
    /// At most this many entries per stream.
    public var count: Int?
    /// Wait up to this long for new entries (whole milliseconds; zero waits forever).
    public var block: Duration?
    /// `NOACK`: do not add delivered entries to the pending list (at-most-once delivery).
    public var noAck: Bool

    /// Creates the command for several streams.
    public init(
        group: String, consumer: String, streams: [(key: String, id: String)], count: Int? = nil,
        block: Duration? = nil, noAck: Bool = false
    ) {
        self.group = group
        self.consumer = consumer
        self.streams = streams
        self.count = count
        self.block = block
        self.noAck = noAck
    }

    /// Creates the command for one stream.
    public init(
        _ key: String, group: String, consumer: String, id: String = ">", count: Int? = nil, block: Duration? = nil,
        noAck: Bool = false
    ) {
        self.init(group: group, consumer: consumer, streams: [(key, id)], count: count, block: block, noAck: noAck)
    }

    /// How long the server may hold the reply.
    public var blockingTimeout: Duration? { block }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XREADGROUP", RESPOption("GROUP", [group, consumer]), count.map { RESPOption("COUNT", $0) },
            block.map { RESPOption("BLOCK", $0.wholeMilliseconds) }, noAck ? RESPKeyword("NOACK") : nil,
            RESPKeyword("STREAMS"), streams.map(\.key), streams.map(\.id)
        )
    }

    /// Reads a map (RESP3) or `[key, entries]` pairs (RESP2); null is empty.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: [RedisStreamEntry]] {
        try token.decodeStreamReads()
    }
}

/// `XCLAIM key group consumer min-idle-time id... [IDLE ms] [RETRYCOUNT n] [FORCE]`: takes over
/// pending entries idle for at least `minimumIdle` and returns them.
///
/// Entries deleted from the stream are dropped from the pending list and not returned (Redis 7;
/// older servers answer null for them, which is skipped too).
public struct XCLAIM: RedisCommand {
    /// The typed reply.
    public typealias Response = [RedisStreamEntry]
    /// `XCLAIM`.
    public static var name: String { "XCLAIM" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The consumer group.
    public var group: String
    /// The consumer taking the entries.
    public var consumer: String
    /// Only entries idle at least this long are claimed (so two claimers do not both win).
    public var minimumIdle: Duration
    /// The entry ids.
    public var ids: [String]
    /// Sets the claimed entries' idle time instead of resetting it to zero.
    public var idle: Duration?
    /// Sets the delivery counter instead of incrementing it.
    public var retryCount: Int?
    /// `FORCE`: create pending entries for ids not pending yet (if they exist in the stream).
    public var force: Bool

    /// Creates the command.
    public init(
        _ key: String, group: String, consumer: String, minimumIdle: Duration, ids: [String], idle: Duration? = nil,
        retryCount: Int? = nil, force: Bool = false
    ) {
        self.key = key
        self.group = group
        self.consumer = consumer
        self.minimumIdle = minimumIdle
        self.ids = ids
        self.idle = idle
        self.retryCount = retryCount
        self.force = force
    }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XCLAIM", key, group, consumer, minimumIdle.wholeMilliseconds, ids,
            idle.map { RESPOption("IDLE", $0.wholeMilliseconds) }, retryCount.map { RESPOption("RETRYCOUNT", $0) },
            force ? RESPKeyword("FORCE") : nil
        )
    }

    /// Reads the claimed entries.
    public func decode(_ token: RESPToken) throws(RedisError) -> [RedisStreamEntry] {
        try RedisStreamEntry.list(fromRESP: token)
    }
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n]`: scans the group's pending list
/// from `start` and takes over entries idle at least `minimumIdle`: how a worker picks up the
/// work of a crashed one.
///
/// Call again with ``Page/nextStart`` until it is `0-0`.
public struct XAUTOCLAIM: RedisCommand {
    /// One step of the scan.
    public struct Page: Sendable {
        /// Where the next call should start; `0-0` when the scan is complete.
        public var nextStart: String
        /// The entries now owned by the claiming consumer.
        public var entries: [RedisStreamEntry]
        /// Pending ids whose entries were deleted from the stream; Redis removed them from the
        /// pending list (Redis 7 and later).
        public var deletedIDs: [String]
    }
    /// The typed reply.
    public typealias Response = Page
    /// `XAUTOCLAIM`.
    public static var name: String { "XAUTOCLAIM" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The consumer group.
    public var group: String
    /// The consumer taking the entries.
    public var consumer: String
    /// Only entries idle at least this long are claimed.
    public var minimumIdle: Duration
    /// The id to scan from; `0-0` for the start.
    public var start: String
    /// Pending entries to examine per call (server default 100).
    public var count: Int?

    /// Creates the command.
    public init(
        _ key: String, group: String, consumer: String, minimumIdle: Duration, start: String = "0-0", count: Int? = nil
    ) {
        self.key = key
        self.group = group
        self.consumer = consumer
        self.minimumIdle = minimumIdle
        self.start = start
        self.count = count
    }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XAUTOCLAIM", key, group, consumer, minimumIdle.wholeMilliseconds, start, count.map { RESPOption("COUNT", $0) }
        )
    }

    /// Reads `[next-start, entries, deleted-ids]` (the last part is absent before Redis 7).
    public func decode(_ token: RESPToken) throws(RedisError) -> Page {
        guard case .array(let parts) = token.value, parts.count >= 2 else {
            throw .unexpected(token, expected: "XAUTOCLAIM reply")
        }
        var iterator = parts.makeIterator()
        guard let next = iterator.next(), let entries = iterator.next() else {
            throw .unexpected(token, expected: "XAUTOCLAIM reply")
        }
        var deleted: [String] = []
        if let deletedToken = iterator.next() { deleted = try [String](fromRESP: deletedToken) }
        return Page(
            nextStart: try String(fromRESP: next), entries: try RedisStreamEntry.list(fromRESP: entries),
            deletedIDs: deleted
        )
    }
}

extension RedisCommandExecutor {
    /// Creates a consumer group, treating an existing one as success.
    ///
    /// - Returns: true if the group was created, false if it already existed.
    @discardableResult
    public func createGroupIfMissing(
        _ key: String, group: String, startingAfter id: String = "$", makeStream: Bool = true
    ) async throws(RedisError) -> Bool {
        do {
            _ = try await send(XGROUPCREATE(key, group: group, id: id, makeStream: makeStream), timeout: nil)
            return true
        } catch let error where error.code == .busyGroup {
            return false
        }
    }
}
