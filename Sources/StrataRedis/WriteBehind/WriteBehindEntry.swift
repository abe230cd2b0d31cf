import NIOCore
import Redis

/// One queued write as a worker hands it to the `apply` closure.
///
/// The payload is whatever the producer queued (for ``WriteBehindCache`` the value encoded with
/// its namespace's codec); the version is the one the producer assigned. The closure must apply
/// the write only if the source of truth holds an older version of the key (see
/// <doc:WriteBehind>), because an entry can be delivered more than once.
public struct WriteBehindEntry: Sendable, Hashable {
    /// The key the write is for, as given to ``WriteBehindQueue/enqueue(key:payload:version:)``.
    public var key: String
    /// The version of the write; newer writes of a key carry larger versions.
    public var version: Int64
    /// The queued bytes.
    public var payload: [UInt8]
    /// The stream entry id (`<ms>-<seq>`, assigned by Redis).
    public var id: String
    /// The partition stream the entry is in.
    public var partition: Int
    /// How many times Redis has delivered the entry, this delivery included (1 on the first).
    public var deliveryCount: Int

    /// Creates an entry (workers build them from stream entries; tests build them directly).
    public init(key: String, version: Int64, payload: [UInt8], id: String, partition: Int, deliveryCount: Int) {
        self.key = key
        self.version = version
        self.payload = payload
        self.id = id
        self.partition = partition
        self.deliveryCount = deliveryCount
    }
}

/// The stream field names of a queued write.
enum WriteBehindField {
    static let key = "k"
    static let version = "v"
    static let payload = "p"
    static let originalID = "strata-id"
    static let reason = "strata-reason"
    static let deliveries = "strata-deliveries"
}

/// A stream entry as delivered: a readable write, or one to move aside as it is.
enum WriteBehindDelivery: Sendable, Hashable {
    case entry(WriteBehindEntry)
    case malformed(id: String, partition: Int, deliveryCount: Int, fields: [WriteBehindRawField])

    var id: String {
        switch self {
        case .entry(let entry): entry.id
        case .malformed(let id, _, _, _): id
        }
    }

    var partition: Int {
        switch self {
        case .entry(let entry): entry.partition
        case .malformed(_, let partition, _, _): partition
        }
    }

    /// Reads a stream entry; anything without a key, a decimal version and a payload is malformed.
    init(_ streamEntry: RedisStreamEntry, partition: Int, deliveryCount: Int) {
        if let key = streamEntry[WriteBehindField.key], let versionBytes = streamEntry[WriteBehindField.version],
            let payload = streamEntry[WriteBehindField.payload],
            let keyString = key.getString(at: key.readerIndex, length: key.readableBytes),
            let versionString = versionBytes.getString(at: versionBytes.readerIndex, length: versionBytes.readableBytes),
            let version = Int64(versionString)
        {
            self = .entry(
                WriteBehindEntry(
                    key: keyString, version: version, payload: Array(payload.readableBytesView), id: streamEntry.id,
                    partition: partition, deliveryCount: deliveryCount))
        } else {
            self = .malformed(
                id: streamEntry.id, partition: partition, deliveryCount: deliveryCount,
                fields: streamEntry.fields.map { WriteBehindRawField(name: $0.name, value: Array($0.value.readableBytesView)) })
        }
    }
}

/// A field of a stream entry, copied out of the read buffer.
struct WriteBehindRawField: Sendable, Hashable {
    var name: String
    var value: [UInt8]
}

/// Why an entry was moved to the dead-letter stream.
public struct WriteBehindDeadLetterReason: Hashable, Sendable, CustomStringConvertible {
    private enum Base: String, Hashable, Sendable { case applyFailed = "apply-failed", malformed }
    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// `apply` failed on the last allowed delivery, or the entry had already been delivered that
    /// many times (for example to workers that crashed while applying it).
    public static let applyFailed = WriteBehindDeadLetterReason(.applyFailed)
    /// The entry was not a readable write (missing field, version not a decimal integer).
    public static let malformed = WriteBehindDeadLetterReason(.malformed)

    /// The reason's name as stored in the dead-letter entry.
    public var description: String { base.rawValue }

    init?(stored: String) {
        guard let base = Base(rawValue: stored) else { return nil }
        self.base = base
    }
}

/// A stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
struct StreamEntryID: Comparable, Hashable, Sendable {
    var milliseconds: UInt64
    var sequence: UInt64

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let milliseconds = UInt64(parts[0]), let sequence = UInt64(parts[1]) else { return nil }
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    static func < (lhs: StreamEntryID, rhs: StreamEntryID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }

    /// Orders id strings; an unreadable id sorts last (Redis never produces one).
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        switch (StreamEntryID(lhs), StreamEntryID(rhs)) {
        case (let left?, let right?): left < right
        case (.some, nil): true
        case (nil, _): false
        }
    }
}
