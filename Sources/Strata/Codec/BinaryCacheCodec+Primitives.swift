// The scalar encodings of BinaryCacheCodec, shared by all of its containers.

extension ByteWriter {
    mutating func append(bool: Bool) {
        append(bool ? 1 : 0)
    }

    /// Zigzag varint: small magnitudes of either sign take one byte.
    mutating func append<T: FixedWidthInteger & SignedInteger>(signed value: T) {
        let wide = Int64(value)
        append(varint: UInt64(bitPattern: (wide << 1) ^ (wide >> 63)))
    }

    mutating func append<T: FixedWidthInteger & UnsignedInteger>(unsigned value: T) {
        append(varint: UInt64(value))
    }

    mutating func append(float: Float) {
        append(fixed: float.bitPattern)
    }

    mutating func append(double: Double) {
        append(fixed: double.bitPattern)
    }
}

extension ByteReader where Failure == CacheCodecError {
    mutating func readBool() throws(CacheCodecError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        default: throw CacheCodecError(.invalidMarker, offset: offset - 1)
        }
    }

    mutating func readSigned<T: FixedWidthInteger & SignedInteger>(_: T.Type) throws(CacheCodecError) -> T {
        let start = offset
        let raw = try readVarint()
        let wide = Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        guard let value = T(exactly: wide) else { throw CacheCodecError(.valueOutOfRange, offset: start) }
        return value
    }

    mutating func readUnsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(CacheCodecError) -> T {
        let start = offset
        guard let value = T(exactly: try readVarint()) else { throw CacheCodecError(.valueOutOfRange, offset: start) }
        return value
    }

    mutating func readFloat() throws(CacheCodecError) -> Float {
        Float(bitPattern: try readUInt32())
    }

    mutating func readDouble() throws(CacheCodecError) -> Double {
        Double(bitPattern: try readUInt64())
    }

    /// A varint length (bounded by the remaining bytes) and that many UTF-8 bytes.
    mutating func readLengthPrefixedString() throws(CacheCodecError) -> String {
        let start = offset
        guard let length = try readLength(atMost: remaining) else { throw CacheCodecError(.truncated, offset: start) }
        guard let string = try readString(count: length) else { throw CacheCodecError(.invalidUTF8, offset: offset) }
        return string
    }

    /// A container's element count; each element takes at least one byte, so a count larger
    /// than what remains is rejected before anything is decoded or reserved.
    mutating func readCount() throws(CacheCodecError) -> Int {
        let start = offset
        guard let count = try readLength(atMost: remaining) else { throw CacheCodecError(.truncated, offset: start) }
        return count
    }
}
