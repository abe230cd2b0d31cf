public import NIOCore
public import RESP

/// One entry of a stream: its id and its field/value pairs, in the order they were added.
public struct RedisStreamEntry: Sendable {
    /// The entry id, such as `1700000000000-0`.
    public var id: String
    /// The field/value pairs. Empty when ``isDeleted``.
    public var fields: [(name: String, value: ByteBuffer)]
    /// True for a pending entry that was deleted from the stream (`XDEL`, trimming) after it was
    /// delivered: `XREADGROUP` with a history id reports it with no fields. Acknowledge it.
    public var isDeleted: Bool

    /// Creates an entry.
    public init(id: String, fields: [(name: String, value: ByteBuffer)], isDeleted: Bool = false) {
        self.id = id
        self.fields = fields
        self.isDeleted = isDeleted
    }

    /// The value of the first field named `name`, or nil.
    public subscript(name: String) -> ByteBuffer? {
        fields.first { $0.name == name }?.value
    }
}

extension RedisStreamEntry: RESPDecodable {
    /// Reads `[id, [field, value, ...]]`, or `[id, null]` for a deleted entry.
    public init(fromRESP token: RESPToken) throws(RedisError) {
        guard case .array(let parts) = token.value, parts.count == 2 else {
            throw .unexpected(token, expected: "stream entry")
        }
        var iterator = parts.makeIterator()
        guard let idToken = iterator.next(), let fieldsToken = iterator.next() else {
            throw .unexpected(token, expected: "stream entry")
        }
        let id = try String(fromRESP: idToken)
        switch fieldsToken.value {
        case .null:
            self.init(id: id, fields: [], isDeleted: true)
        case .array(let elements):
            var fields: [(name: String, value: ByteBuffer)] = []
            fields.reserveCapacity(elements.count / 2)
            var elementIterator = elements.makeIterator()
            while let name = elementIterator.next() {
                guard let value = elementIterator.next() else { throw .unexpected(token, expected: "even field list") }
                fields.append((try String(fromRESP: name), try ByteBuffer(fromRESP: value)))
            }
            self.init(id: id, fields: fields)
        default:
            throw .unexpected(token, expected: "stream entry fields")
        }
    }

    /// Reads an array of entries, skipping null elements (Redis before 7 answered `XCLAIM` for a
    /// deleted entry with null).
    static func list(fromRESP token: RESPToken) throws(RedisError) -> [RedisStreamEntry] {
        switch token.value {
        case .null:
            return []
        case .array(let elements):
            var entries: [RedisStreamEntry] = []
            entries.reserveCapacity(elements.count)
            for element in elements {
                if case .null = element.value { continue }
                entries.append(try RedisStreamEntry(fromRESP: element))
            }
            return entries
        default:
            throw .unexpected(token, expected: "stream entries")
        }
    }
}

/// How `XADD` or `XTRIM` trims a stream.
public enum RedisStreamTrim: Sendable, Hashable, RESPArgument {
    /// `MAXLEN [~] n`: keep about (`approximate`) or exactly the newest `n` entries. Approximate
    /// trimming removes whole macro nodes only, so it is much cheaper and may keep a few more.
    case maxLength(Int, approximate: Bool = true)
    /// `MINID [~] id`: drop entries with ids below `id`.
    case minimumID(String, approximate: Bool = true)

    /// Two arguments, three with `~`.
    public var respArgumentCount: Int {
        switch self {
        case .maxLength(_, let approximate), .minimumID(_, let approximate): approximate ? 3 : 2
        }
    }

    /// Writes `MAXLEN`/`MINID`, `~` when approximate, and the threshold.
    public func encode(into encoder: inout RESPCommandEncoder) {
        switch self {
        case .maxLength(let count, let approximate):
            encoder.writeBulk("MAXLEN" as StaticString)
            if approximate { encoder.writeBulk("~" as StaticString) }
            encoder.writeBulk(count)
        case .minimumID(let id, let approximate):
            encoder.writeBulk("MINID" as StaticString)
            if approximate { encoder.writeBulk("~" as StaticString) }
            encoder.writeBulk(id)
        }
    }
}

extension Duration {
    /// Whole milliseconds (rounded down), for `BLOCK`, `IDLE` and `min-idle-time` arguments.
    var wholeMilliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}

extension RESPToken {
    /// The pairs of a RESP3 map or a RESP2 flat array of alternating keys and values, in order.
    func decodePairs() throws(RedisError) -> [(key: String, value: RESPToken)] {
        var result: [(key: String, value: RESPToken)] = []
        switch value {
        case .map(let pairs):
            result.reserveCapacity(pairs.count)
            for (key, value) in pairs { result.append((try String(fromRESP: key), value)) }
        case .array(let elements):
            result.reserveCapacity(elements.count / 2)
            var iterator = elements.makeIterator()
            while let key = iterator.next() {
                guard let value = iterator.next() else { throw .unexpected(self, expected: "even-length array") }
                result.append((try String(fromRESP: key), value))
            }
        default:
            throw .unexpected(self, expected: "map")
        }
        return result
    }

    /// Reads the reply of `XREAD`/`XREADGROUP`: a RESP3 map of key to entries, a RESP2 array of
    /// `[key, entries]` pairs, or null when nothing arrived before the block timeout.
    func decodeStreamReads() throws(RedisError) -> [String: [RedisStreamEntry]] {
        var result: [String: [RedisStreamEntry]] = [:]
        switch value {
        case .null:
            break
        case .map(let pairs):
            for (key, entries) in pairs { result[try String(fromRESP: key)] = try RedisStreamEntry.list(fromRESP: entries) }
        case .array(let streams):
            for stream in streams {
                guard case .array(let parts) = stream.value, parts.count == 2 else {
                    throw .unexpected(stream, expected: "[key, entries]")
                }
                var iterator = parts.makeIterator()
                guard let key = iterator.next(), let entries = iterator.next() else {
                    throw .unexpected(stream, expected: "[key, entries]")
                }
                result[try String(fromRESP: key)] = try RedisStreamEntry.list(fromRESP: entries)
            }
        default:
            throw .unexpected(self, expected: "stream read reply")
        }
        return result
    }
}
