public import NIOCore

/// One complete, validated RESP value, held as the exact bytes it arrived as.
///
/// A token is a slice of the connection's read buffer: producing one copies nothing, and reading
/// it (``value``) walks bytes already known to be well-formed. Tokens come only from
/// ``RESPTokenDecoder``, which checks every length, count and limit first.
public struct RESPToken: Hashable, Sendable {
    /// The value's wire bytes, from its type marker to its final CRLF.
    public let bytes: ByteBuffer
    /// The RESP type marker of this token (the first byte of `bytes`), kept so that checks such
    /// as ``isError`` and ``isPush`` need not read the buffer's storage.
    let typeByte: UInt8

    init(validated bytes: ByteBuffer) {
        self.bytes = bytes
        self.typeByte = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) ?? 0
    }

    /// A token whose first byte, `typeByte`, the caller already read.
    init(validated bytes: ByteBuffer, typeByte: UInt8) {
        self.bytes = bytes
        self.typeByte = typeByte
    }

    /// Whether this token is a RESP3 push frame (out-of-band data, not a reply to a command).
    public var isPush: Bool { typeByte == RESPTypeByte.push }

    /// Whether this token is an error (simple or bulk): the server refused the command.
    public var isError: Bool { typeByte == RESPTypeByte.simpleError || typeByte == RESPTypeByte.bulkError }

    /// Whether the value is null: RESP3 `_`, or RESP2's `$-1` or `*-1`; the same as
    /// `value == .null` but, for those types, without reading the bytes.
    public var isNull: Bool {
        switch typeByte {
        case RESPTypeByte.null:
            return true
        case RESPTypeByte.bulkString, RESPTypeByte.array:
            // `$-1\r\n` and `*-1\r\n` are 5 bytes. A validated bulk string is at least 6
            // (`$0\r\n\r\n`); an array is 4 (`*0\r\n`) or at least 7 (`*1\r\n` and an element).
            return bytes.readableBytes == 5
        case RESPTypeByte.attribute:
            if case .null = value { return true }
            return false
        default:
            return false
        }
    }

    /// The attribute map sent ahead of the value, when the server sent one.
    public var attributes: Map? {
        guard typeByte == RESPTypeByte.attribute else { return nil }
        var cursor = Cursor(bytes)
        guard let (count, _) = cursor.header() else { return nil }
        return Map(count: count, elements: cursor.remaining)
    }

    /// For an attribute token, the value the attribute map annotates. That value may carry
    /// attributes of its own (an attribute followed by another attribute).
    var annotatedValue: RESPToken? {
        guard typeByte == RESPTypeByte.attribute else { return nil }
        var cursor = Cursor(bytes)
        guard let (count, _) = cursor.header() else { return nil }
        for _ in 0..<(count * 2) { _ = cursor.next() }
        return cursor.next()
    }

    /// The decoded value. Attributes, if any, are skipped: see ``attributes``.
    public var value: RESPTypedValue {
        if typeByte == RESPTypeByte.attribute {
            return annotatedValue?.value ?? .null
        }
        var cursor = Cursor(bytes)
        guard let (length, type) = cursor.header() else { return .null }
        switch type {
        case RESPTypeByte.simpleString: return .simpleString(cursor.line)
        case RESPTypeByte.simpleError: return .simpleError(cursor.line)
        case RESPTypeByte.integer:
            return .integer(cursor.line.withUnsafeReadableBytes { RESPScanner.parseInteger($0) } ?? 0)
        case RESPTypeByte.null: return .null
        case RESPTypeByte.boolean: return .boolean(cursor.line.readableBytesView.first == UInt8(ascii: "t"))
        case RESPTypeByte.double:
            return .double(cursor.line.withUnsafeReadableBytes { RESPScanner.parseDouble($0) } ?? .nan)
        case RESPTypeByte.bigNumber: return .bigNumber(cursor.line)
        case RESPTypeByte.bulkString:
            return length < 0 ? .null : .bulkString(cursor.payload(length))
        case RESPTypeByte.bulkError: return .bulkError(cursor.payload(length))
        case RESPTypeByte.verbatimString:
            var payload = cursor.payload(length)
            let format = payload.readSlice(length: 3) ?? ByteBuffer()
            payload.moveReaderIndex(forwardBy: 1)
            return .verbatimString(format: format, payload)
        case RESPTypeByte.array:
            return length < 0 ? .null : .array(Array(count: length, elements: cursor.remaining))
        case RESPTypeByte.set: return .set(Array(count: length, elements: cursor.remaining))
        case RESPTypeByte.push: return .push(Array(count: length, elements: cursor.remaining))
        case RESPTypeByte.map: return .map(Map(count: length, elements: cursor.remaining))
        default: return .null
        }
    }
}

/// The decoded shape of a ``RESPToken``. Payloads are slices of the token's bytes (no copies).
public enum RESPTypedValue: Hashable, Sendable {
    /// `+OK`: a short status line.
    case simpleString(ByteBuffer)
    /// `-ERR ...`: an error line, its first word being the error code.
    case simpleError(ByteBuffer)
    /// `:42`: a signed 64-bit integer.
    case integer(Int)
    /// `$5 hello`: a binary-safe string.
    case bulkString(ByteBuffer)
    /// RESP2 null bulk string or array, or RESP3 `_`.
    case null
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,3.14`, including `inf`, `-inf` and `nan`.
    case double(Double)
    /// RESP3 `(12345...`: an integer of any size, as its decimal digits.
    case bigNumber(ByteBuffer)
    /// RESP3 `!`: a binary-safe error.
    case bulkError(ByteBuffer)
    /// RESP3 `=`: a string with a three-letter format such as `txt` or `mkd`.
    case verbatimString(format: ByteBuffer, ByteBuffer)
    /// `*`: an ordered list of values.
    case array(RESPToken.Array)
    /// RESP3 `~`: an unordered collection of values.
    case set(RESPToken.Array)
    /// RESP3 `%`: key/value pairs.
    case map(RESPToken.Map)
    /// RESP3 `>`: out-of-band data (pub/sub messages, invalidations).
    case push(RESPToken.Array)
}

extension RESPToken {
    /// The elements of an array, set or push frame, decoded lazily as you iterate.
    public struct Array: Sequence, Hashable, Sendable {
        /// How many elements the aggregate holds.
        public let count: Int
        let elements: ByteBuffer

        /// Iterates the elements in wire order.
        public func makeIterator() -> Iterator { Iterator(remaining: count, cursor: Cursor(elements)) }

        /// Iterates the elements of an aggregate.
        public struct Iterator: IteratorProtocol {
            var remaining: Int
            var cursor: Cursor

            /// The next element, or nil after the last.
            public mutating func next() -> RESPToken? {
                guard remaining > 0 else { return nil }
                remaining -= 1
                return cursor.next()
            }
        }
    }

    /// The pairs of a map or attribute, decoded lazily as you iterate.
    public struct Map: Sequence, Hashable, Sendable {
        /// How many key/value pairs the map holds.
        public let count: Int
        let elements: ByteBuffer

        /// Iterates the pairs in wire order.
        public func makeIterator() -> Iterator { Iterator(remaining: count, cursor: Cursor(elements)) }

        /// Iterates the pairs of a map.
        public struct Iterator: IteratorProtocol {
            var remaining: Int
            var cursor: Cursor

            /// The next pair, or nil after the last.
            public mutating func next() -> (key: RESPToken, value: RESPToken)? {
                guard remaining > 0, let key = cursor.next(), let value = cursor.next() else { return nil }
                remaining -= 1
                return (key, value)
            }
        }
    }
}

/// Walks validated bytes. Every read here was checked by `RESPScanner` when the token was made,
/// so a failure can only mean a token was built from unvalidated bytes; it ends the walk early
/// rather than trapping.
struct Cursor: Hashable, Sendable {
    private(set) var remaining: ByteBuffer

    init(_ bytes: ByteBuffer) { self.remaining = bytes }

    /// Reads a type marker and its header line; returns the header's integer (0 if not numeric).
    mutating func header() -> (Int, UInt8)? {
        // One read of the storage for the marker and the line (each ByteBuffer call costs
        // runtime exclusivity checks; see docs/profiling.md).
        let header: (length: Int, type: UInt8, consumed: Int)? = remaining.withUnsafeReadableBytes { bytes in
            guard let type = bytes.first else { return nil }
            switch type {
            case RESPTypeByte.bulkString, RESPTypeByte.bulkError, RESPTypeByte.verbatimString, RESPTypeByte.array,
                RESPTypeByte.set, RESPTypeByte.push, RESPTypeByte.map, RESPTypeByte.attribute:
                var end = 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "\r") { end += 1 }
                let length = RESPScanner.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[1..<end])) ?? 0
                return (length, type, min(end + 2, bytes.count))
            default:
                return (0, type, 1)
            }
        }
        guard let header else { return nil }
        remaining.moveReaderIndex(forwardBy: header.consumed)
        return (header.length, header.type)
    }

    /// The rest of a line-typed value without its CRLF.
    var line: ByteBuffer {
        var copy = self
        return copy.readLine()
    }

    private mutating func readLine() -> ByteBuffer {
        let view = remaining.readableBytesView
        let end = view.firstIndex(of: UInt8(ascii: "\r")) ?? view.endIndex
        let line = remaining.readSlice(length: end - view.startIndex) ?? ByteBuffer()
        remaining.moveReaderIndex(forwardBy: min(2, remaining.readableBytes))
        return line
    }

    func payload(_ length: Int) -> ByteBuffer {
        remaining.getSlice(at: remaining.readerIndex, length: max(0, length)) ?? ByteBuffer()
    }

    /// Slices off the next complete value.
    mutating func next() -> RESPToken? {
        let outcome: (RESPScanner.Outcome, UInt8)? = remaining.withUnsafeReadableBytes { bytes in
            var scanner = RESPScanner(bytes: bytes, limits: .unbounded)
            guard let outcome = try? scanner.scan() else { return nil }
            return (outcome, bytes.first ?? 0)
        }
        guard let (outcome, type) = outcome, case .complete(let end) = outcome, let slice = remaining.readSlice(length: end)
        else { return nil }
        return RESPToken(validated: slice, typeByte: type)
    }
}

extension RESPLimits {
    /// For re-walking bytes that were already validated against the real limits.
    static let unbounded = RESPLimits(
        maxBulkLength: .max, maxAggregateCount: .max, maxDepth: .max, maxReplyBytes: .max, maxLineLength: .max
    )
}
