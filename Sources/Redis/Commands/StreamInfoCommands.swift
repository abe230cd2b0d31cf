public import RESP

/// `XPENDING key group`: a summary of the group's pending (delivered, unacknowledged) entries.
public struct XPENDING: RedisCommand {
    /// The group's pending list at a glance.
    public struct Summary: Sendable, Hashable {
        /// Pending entries in the group.
        public var count: Int
        /// The lowest pending id, nil when nothing is pending.
        public var smallestID: String?
        /// The highest pending id, nil when nothing is pending.
        public var greatestID: String?
        /// Pending entries per consumer (consumers with none are not listed).
        public var consumers: [String: Int]
    }
    /// The typed reply.
    public typealias Response = Summary
    /// `XPENDING`.
    public static var name: String { "XPENDING" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The consumer group.
    public var group: String
    /// Creates the command.
    public init(_ key: String, group: String) {
        self.key = key
        self.group = group
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XPENDING", key, group) }
    /// Reads `[count, smallest, greatest, [[consumer, count]...]]`.
    public func decode(_ token: RESPToken) throws(RedisError) -> Summary {
        guard case .array(let parts) = token.value, parts.count == 4 else { throw .unexpected(token, expected: "XPENDING summary") }
        var iterator = parts.makeIterator()
        guard let count = iterator.next(), let smallest = iterator.next(), let greatest = iterator.next(),
            let consumerList = iterator.next()
        else { throw .unexpected(token, expected: "XPENDING summary") }
        var consumers: [String: Int] = [:]
        if case .array(let rows) = consumerList.value {
            for row in rows {
                let pair = try [String](fromRESP: row)
                guard pair.count == 2, let pending = Int(pair[1]) else { throw .unexpected(row, expected: "[consumer, count]") }
                consumers[pair[0]] = pending
            }
        }
        return Summary(
            count: try Int(fromRESP: count), smallestID: try String?(fromRESP: smallest),
            greatestID: try String?(fromRESP: greatest), consumers: consumers
        )
    }
}

/// `XPENDING key group [IDLE ms] start end count [consumer]` (the extended form): pending entries
/// with their owner, idle time and delivery count.
///
/// A high ``Entry/deliveryCount`` marks a poison message that keeps failing: move it aside
/// rather than claiming it forever.
public struct XPENDINGRANGE: RedisCommand {
    /// One pending entry.
    public struct Entry: Sendable, Hashable {
        /// The entry id.
        public var id: String
        /// The consumer it was delivered to.
        public var consumer: String
        /// Time since it was last delivered.
        public var idle: Duration
        /// How many times it was delivered.
        public var deliveryCount: Int
    }
    /// The typed reply.
    public typealias Response = [Entry]
    /// `XPENDING`.
    public static var name: String { "XPENDING" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// The consumer group.
    public var group: String
    /// Only entries idle at least this long.
    public var minimumIdle: Duration?
    /// The first id (`-` for the lowest).
    public var start: String
    /// The last id (`+` for the highest).
    public var end: String
    /// At most this many entries.
    public var count: Int
    /// Only this consumer's entries.
    public var consumer: String?

    /// Creates the command.
    public init(
        _ key: String, group: String, minimumIdle: Duration? = nil, start: String = "-", end: String = "+",
        count: Int, consumer: String? = nil
    ) {
        self.key = key
        self.group = group
        self.minimumIdle = minimumIdle
        self.start = start
        self.end = end
        self.count = count
        self.consumer = consumer
    }

    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(
            "XPENDING", key, group, minimumIdle.map { RESPOption("IDLE", $0.wholeMilliseconds) }, start, end, count,
            consumer
        )
    }

    /// Reads `[[id, consumer, idle-ms, deliveries]...]`.
    public func decode(_ token: RESPToken) throws(RedisError) -> [Entry] {
        guard case .array(let rows) = token.value else { throw .unexpected(token, expected: "XPENDING entries") }
        var entries: [Entry] = []
        entries.reserveCapacity(rows.count)
        for row in rows {
            guard case .array(let fields) = row.value, fields.count == 4 else { throw .unexpected(row, expected: "pending entry") }
            var iterator = fields.makeIterator()
            guard let id = iterator.next(), let consumer = iterator.next(), let idle = iterator.next(),
                let deliveries = iterator.next()
            else { throw .unexpected(row, expected: "pending entry") }
            entries.append(
                Entry(
                    id: try String(fromRESP: id), consumer: try String(fromRESP: consumer),
                    idle: .milliseconds(try Int(fromRESP: idle)), deliveryCount: try Int(fromRESP: deliveries)
                )
            )
        }
        return entries
    }
}

/// `XINFO STREAM key`: the stream's length, ids and first and last entries.
public struct XINFOSTREAM: RedisCommand {
    /// What `XINFO STREAM` reports (the summary form).
    public struct Info: Sendable {
        /// Entries in the stream.
        public var length: Int
        /// The id of the last entry ever added (it may have been deleted since).
        public var lastGeneratedID: String
        /// The highest id ever deleted (Redis 7).
        public var maxDeletedEntryID: String?
        /// Entries ever added (Redis 7).
        public var entriesAdded: Int?
        /// The id of the first entry still in the stream, or `0-0` (Redis 7).
        public var recordedFirstEntryID: String?
        /// Consumer groups.
        public var groups: Int
        /// The oldest entry, nil for an empty stream.
        public var firstEntry: RedisStreamEntry?
        /// The newest entry, nil for an empty stream.
        public var lastEntry: RedisStreamEntry?
    }
    /// The typed reply.
    public typealias Response = Info
    /// `XINFO`.
    public static var name: String { "XINFO" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XINFO", "STREAM", key) }
    /// Reads a map (RESP3) or a flat array of fields and values (RESP2).
    public func decode(_ token: RESPToken) throws(RedisError) -> Info {
        var info = Info(length: 0, lastGeneratedID: "0-0", groups: 0)
        for (field, value) in try token.decodePairs() {
            switch field {
            case "length": info.length = try Int(fromRESP: value)
            case "last-generated-id": info.lastGeneratedID = try String(fromRESP: value)
            case "max-deleted-entry-id": info.maxDeletedEntryID = try String?(fromRESP: value)
            case "entries-added": info.entriesAdded = try Int?(fromRESP: value)
            case "recorded-first-entry-id": info.recordedFirstEntryID = try String?(fromRESP: value)
            case "groups": info.groups = try Int(fromRESP: value)
            case "first-entry": info.firstEntry = try RedisStreamEntry?(fromRESP: value)
            case "last-entry": info.lastEntry = try RedisStreamEntry?(fromRESP: value)
            default: continue
            }
        }
        return info
    }
}

/// `XINFO GROUPS key`: every consumer group of the stream.
public struct XINFOGROUPS: RedisCommand {
    /// One consumer group.
    public struct Group: Sendable, Hashable {
        /// The group's name.
        public var name: String
        /// Consumers that have read from the group.
        public var consumers: Int
        /// Entries delivered and not acknowledged.
        public var pending: Int
        /// The last id delivered to the group.
        public var lastDeliveredID: String
        /// Entries the group has read (Redis 7); nil when the server cannot tell.
        public var entriesRead: Int?
        /// Entries still waiting for delivery (Redis 7); nil when the server cannot tell.
        public var lag: Int?
    }
    /// The typed reply.
    public typealias Response = [Group]
    /// `XINFO`.
    public static var name: String { "XINFO" }
    /// The stream's key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Creates the command.
    public init(_ key: String) { self.key = key }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("XINFO", "GROUPS", key) }
    /// Reads an array of maps (RESP3) or of flat field/value arrays (RESP2).
    public func decode(_ token: RESPToken) throws(RedisError) -> [Group] {
        guard case .array(let rows) = token.value else { throw .unexpected(token, expected: "XINFO GROUPS reply") }
        var groups: [Group] = []
        for row in rows {
            var group = Group(name: "", consumers: 0, pending: 0, lastDeliveredID: "0-0")
            for (field, value) in try row.decodePairs() {
                switch field {
                case "name": group.name = try String(fromRESP: value)
                case "consumers": group.consumers = try Int(fromRESP: value)
                case "pending": group.pending = try Int(fromRESP: value)
                case "last-delivered-id": group.lastDeliveredID = try String(fromRESP: value)
                case "entries-read": group.entriesRead = try Int?(fromRESP: value)
                case "lag": group.lag = try Int?(fromRESP: value)
                default: continue
                }
            }
            groups.append(group)
        }
        return groups
    }
}
