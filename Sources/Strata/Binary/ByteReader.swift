/// The error a ``ByteReader`` throws, supplied by its user (the envelope or the binary codec).
protocol ByteReaderFailure: Error {
    /// Fewer bytes remain than the read needs.
    static func truncated(at offset: Int) -> Self
    /// A varint longer than 10 bytes or overflowing 64 bits.
    static func malformedVarint(at offset: Int) -> Self
}

/// A bounds-checked cursor over borrowed bytes, shared by the envelope and the binary codec.
///
/// Every read checks the remaining length first and fails without moving the cursor, so a
/// caller never reads past the end and never allocates from an unchecked announcement. Valid only
/// inside the `withUnsafeBytes` scope that produced `bytes`.
struct ByteReader<Failure: ByteReaderFailure> {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count &- offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func readByte() throws(Failure) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: offset) }
        defer { offset &+= 1 }
        return bytes[offset]
    }

    /// The next byte without consuming it.
    func peekByte() throws(Failure) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: offset) }
        return bytes[offset]
    }

    mutating func readUInt32() throws(Failure) -> UInt32 {
        try readFixed(UInt32.self)
    }

    mutating func readUInt64() throws(Failure) -> UInt64 {
        try readFixed(UInt64.self)
    }

    mutating func readInt64() throws(Failure) -> Int64 {
        Int64(bitPattern: try readFixed(UInt64.self))
    }

    /// A little-endian fixed-width integer.
    private mutating func readFixed<T: FixedWidthInteger>(_: T.Type) throws(Failure) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated(at: offset) }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset &+= size
        return T(littleEndian: value)
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    mutating func readVarint() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var cursor = offset
        while true {
            guard cursor < bytes.count else { throw .truncated(at: offset) }
            let byte = bytes[cursor]
            cursor &+= 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            if shift == 63 && byte > 1 { throw .malformedVarint(at: offset) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift &+= 7
        }
        offset = cursor
        return result
    }

    /// A varint that must fit in `Int` and be at most `limit`; `nil` when it exceeds `limit`.
    mutating func readLength(atMost limit: Int) throws(Failure) -> Int? {
        let start = offset
        let value = try readVarint()
        guard value <= UInt64(max(limit, 0)) else {
            offset = start
            return nil
        }
        return Int(value)
    }

    /// The next `count` bytes, borrowed (no copy).
    mutating func readSlice(count: Int) throws(Failure) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw .truncated(at: offset) }
        defer { offset &+= count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset &+ count)])
    }

    /// The next `count` bytes as valid UTF-8, or `nil` when they are not UTF-8 (cursor unmoved).
    mutating func readString(count: Int) throws(Failure) -> String? {
        let start = offset
        let slice = try readSlice(count: count)
        guard let string = Self.string(validating: slice) else {
            offset = start
            return nil
        }
        return string
    }

    /// Validates and copies UTF-8. ASCII (the common case for keys, names and e-mail addresses)
    /// takes a fast path: `String(decoding:)` is valid for it by construction, while the generic
    /// `String(validating:)` pays runtime metadata lookups on every call.
    static func string(validating bytes: UnsafeRawBufferPointer) -> String? {
        var index = 0
        let count = bytes.count
        while index &+ 8 <= count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
                return String(validating: bytes, as: UTF8.self)
            }
            index &+= 8
        }
        while index < count {
            if bytes[index] & 0x80 != 0 { return String(validating: bytes, as: UTF8.self) }
            index &+= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Appends little-endian integers, varints and length-prefixed bytes to a growing array.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    mutating func append<T: FixedWidthInteger>(fixed value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(varint value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func append(contentsOf other: some Collection<UInt8>) {
        bytes.append(contentsOf: other)
    }

    /// A varint length followed by the string's UTF-8 bytes.
    mutating func append(lengthPrefixed string: String) {
        var string = string
        string.withUTF8 { utf8 in
            append(varint: UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// The encoded size of `value` as a varint.
    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var value = value >> 7
        while value != 0 {
            size += 1
            value >>= 7
        }
        return size
    }
}
