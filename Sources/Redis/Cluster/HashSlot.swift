public import NIOCore

/// One of the 16384 hash slots of a Redis Cluster, computed from a key as the cluster spec says.
///
/// The slot is `CRC16-XMODEM(k) mod 16384`, where `k` is the key's hash tag if it has one, else the
/// whole key. The hash tag is the text between the first `{` and the first `}` after it, provided
/// that text is not empty: `{user1000}.following` and `{user1000}.followers` share a slot,
/// `foo{}{bar}` hashes the whole key, `foo{{bar}}zap` hashes `{bar`, `foo{bar}{zap}` hashes `bar`.
/// Keys are hashed as their bytes (a `String` as its UTF-8).
///
/// - Complexity: O(n) in the key's length; table-driven, no allocation for `String`, `ByteBuffer`
///   and contiguous byte collections.
public struct HashSlot: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// How many slots a cluster has: 16384.
    public static let count = 16384
    /// Slot 0.
    public static let first = HashSlot(unchecked: 0)
    /// Slot 16383.
    public static let last = HashSlot(unchecked: UInt16(count - 1))

    /// The slot number, in `0..<16384`.
    public let rawValue: UInt16

    /// A slot by number; nil outside `0..<16384`.
    public init?(rawValue: UInt16) {
        guard Int(rawValue) < Self.count else { return nil }
        self.rawValue = rawValue
    }

    /// A slot by number; nil outside `0..<16384`.
    public init?(_ value: Int) {
        guard (0..<Self.count).contains(value) else { return nil }
        self.rawValue = UInt16(value)
    }

    init(unchecked rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The slot of a key, hashing its UTF-8 bytes.
    public init(key: String) {
        if let slot = key.utf8.withContiguousStorageIfAvailable({ Self.slot(of: UnsafeRawBufferPointer($0)) }) {
            self = slot
        } else {
            self = Self.slot(of: key.utf8)
        }
    }

    /// The slot of a key given as the readable bytes of a buffer.
    public init(key: ByteBuffer) {
        self = key.withUnsafeReadableBytes { Self.slot(of: $0) }
    }

    /// The slot of a key given as bytes.
    public init(key: some Collection<UInt8>) {
        if let slot = key.withContiguousStorageIfAvailable({ Self.slot(of: UnsafeRawBufferPointer($0)) }) {
            self = slot
        } else {
            self = Self.slot(of: key)
        }
    }

    /// The slot number.
    public var description: String { String(rawValue) }

    /// Orders slots by number.
    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    /// CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection, no final XOR) of `bytes`.
    ///
    /// The check value of `"123456789"` is `0x31C3`.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        if let crc = bytes.withContiguousStorageIfAvailable({ crcLoop(UnsafeRawBufferPointer($0)) }) { return crc }
        return crcLoop(bytes)
    }

    /// The table-driven CRC loop; fastest over raw buffers and their slices.
    private static func crcLoop(_ bytes: some Sequence<UInt8>) -> UInt16 {
        crcTable.withUnsafeBufferPointer { table in
            var crc: UInt16 = 0
            for byte in bytes {
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    /// The part of a key that is hashed: the hash tag if there is a non-empty one, else the key.
    public static func hashedPart<Bytes: Collection<UInt8>>(of key: Bytes) -> Bytes.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let tagStart = key.index(after: open)
        guard let close = key[tagStart...].firstIndex(of: UInt8(ascii: "}")), close != tagStart else {
            return key[...]
        }
        return key[tagStart..<close]
    }

    private static func slot<Bytes: Collection<UInt8>>(of key: Bytes) -> HashSlot {
        HashSlot(unchecked: crcLoop(hashedPart(of: key)) & UInt16(count - 1))
    }

    /// The 256 partial remainders of CRC16-XMODEM, one per leading byte.
    private static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
