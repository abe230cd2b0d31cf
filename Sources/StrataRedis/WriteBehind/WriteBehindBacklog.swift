import NIOCore
import Redis
import RESP

/// How much work a write-behind queue holds, per partition.
///
/// Workers delete each entry when they acknowledge it, so a partition stream's length is exactly
/// its backlog: entries not yet delivered plus entries delivered and not yet acknowledged.
public struct WriteBehindBacklog: Sendable, Hashable {
    /// One partition's counts.
    public struct Partition: Sendable, Hashable {
        /// The partition number.
        public var partition: Int
        /// Entries in the stream (`XLEN`): not yet applied, or applied and not yet acknowledged.
        public var length: Int
        /// Entries delivered to a worker and not yet acknowledged (the group's pending list).
        public var pending: Int
        /// Entries never delivered yet: the lag of the consumer group.
        public var undelivered: Int { max(0, length - pending) }
        /// Entries in the partition's dead-letter stream.
        public var deadLetters: Int
    }

    /// Every partition, in order.
    public var partitions: [Partition]

    /// Entries not yet applied and acknowledged, over all partitions.
    public var total: Int { partitions.reduce(0) { $0 + $1.length } }
    /// Delivered, unacknowledged entries over all partitions.
    public var pending: Int { partitions.reduce(0) { $0 + $1.pending } }
    /// Dead-lettered entries over all partitions.
    public var deadLetters: Int { partitions.reduce(0) { $0 + $1.deadLetters } }

    /// Reads the counts with one pipeline (`XLEN`, `XPENDING`, `XLEN` of the dead letters per
    /// partition). A partition whose group does not exist yet counts nothing pending.
    static func read(from client: any RedisCommandExecutor, streams: WriteBehindStreams, timeout: TimeAmount?) async throws(RedisError)
        -> WriteBehindBacklog
    {
        var commands: [any RedisCommand] = []
        for partition in 0..<streams.partitions {
            commands.append(XLEN(streams.stream(partition: partition)))
            commands.append(XPENDING(streams.stream(partition: partition), group: streams.group))
            commands.append(XLEN(streams.deadLetterStream(partition: partition)))
        }
        let results = try await client.pipeline(commands, timeout: timeout)
        var partitions: [Partition] = []
        partitions.reserveCapacity(streams.partitions)
        for partition in 0..<streams.partitions {
            let base = partition * 3
            let length = try Int(fromRESP: results[base].get())
            var pending = 0
            switch results[base + 1] {
            case .success(let token):
                pending = try XPENDING(streams.stream(partition: partition), group: streams.group).decode(token).count
            case .failure(let error) where error.serverCode == "NOGROUP":
                pending = 0
            case .failure(let error):
                throw error
            }
            let deadLetters = try Int(fromRESP: results[base + 2].get())
            partitions.append(Partition(partition: partition, length: length, pending: pending, deadLetters: deadLetters))
        }
        return WriteBehindBacklog(partitions: partitions)
    }
}

/// An entry moved aside by a worker, as read back from a dead-letter stream.
public struct WriteBehindDeadLetter: Sendable, Hashable {
    /// The id of the dead-letter entry (delete it with `XDEL` once handled).
    public var id: String
    /// The partition whose dead-letter stream holds it.
    public var partition: Int
    /// The id the write had in its partition stream.
    public var originalID: String
    /// Why it was moved aside.
    public var reason: WriteBehindDeadLetterReason?
    /// How many times it had been delivered.
    public var deliveryCount: Int
    /// The write's key, when the entry had one.
    public var key: String?
    /// The write's version, when the entry had a readable one.
    public var version: Int64?
    /// The queued bytes, when the entry had them.
    public var payload: [UInt8]?

    init(_ entry: RedisStreamEntry, partition: Int) {
        id = entry.id
        self.partition = partition
        originalID = entry[WriteBehindField.originalID].map { String(buffer: $0) } ?? ""
        reason = entry[WriteBehindField.reason].flatMap { WriteBehindDeadLetterReason(stored: String(buffer: $0)) }
        deliveryCount = entry[WriteBehindField.deliveries].flatMap { Int(String(buffer: $0)) } ?? 0
        key = entry[WriteBehindField.key].map { String(buffer: $0) }
        version = entry[WriteBehindField.version].flatMap { Int64(String(buffer: $0)) }
        payload = entry[WriteBehindField.payload].map { Array($0.readableBytesView) }
    }
}
