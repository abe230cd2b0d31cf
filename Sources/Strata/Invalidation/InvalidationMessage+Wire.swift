/// The bytes of an ``InvalidationMessage`` on the wire, bounded on decode.
///
/// Layout: `"SI"`, version 1, publisher (8 bytes BE), sequence (8 bytes BE), kind (0 keys,
/// 1 everything, 2 tag epoch), then for keys: count (2 bytes BE) and each key as length (2 bytes
/// BE) + UTF-8; for a tag epoch: the tag as length (2 bytes BE) + UTF-8, then the epoch (8 bytes BE).
extension InvalidationMessage {
    static let magic: [UInt8] = [0x53, 0x49]
    static let wireVersion: UInt8 = 1
    /// The most keys one message carries; publishers split larger invalidations.
    public static let maximumKeysPerMessage = 1024

    /// Encodes the message.
    public func encoded() -> [UInt8] {
        var bytes = Self.magic + [Self.wireVersion]
        bytes.reserveCapacity(32)
        Self.append(publisher, to: &bytes)
        Self.append(sequence, to: &bytes)
        switch scope {
        case .everything:
            bytes.append(1)
        case .tagEpoch(let tag, let epoch):
            bytes.append(2)
            let utf8 = Array(tag.utf8.prefix(Int(UInt16.max)))
            bytes.append(UInt8(utf8.count >> 8))
            bytes.append(UInt8(utf8.count & 0xFF))
            bytes.append(contentsOf: utf8)
            Self.append(UInt64(bitPattern: epoch), to: &bytes)
        case .keys(let keys):
            bytes.append(0)
            let count = min(keys.count, Self.maximumKeysPerMessage)
            bytes.append(UInt8(count >> 8))
            bytes.append(UInt8(count & 0xFF))
            for key in keys.prefix(count) {
                let utf8 = Array(key.utf8.prefix(Int(UInt16.max)))
                bytes.append(UInt8(utf8.count >> 8))
                bytes.append(UInt8(utf8.count & 0xFF))
                bytes.append(contentsOf: utf8)
            }
        }
        return bytes
    }

    /// Decodes a message; `nil` for anything malformed, truncated or oversized.
    public init?(decoding bytes: [UInt8]) {
        var offset = 0
        func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        func integer(_ width: Int) -> UInt64? {
            guard let slice = take(width) else { return nil }
            return slice.reduce(0) { ($0 << 8) | UInt64($1) }
        }
        guard let magic = take(2), Array(magic) == Self.magic, let version = take(1), version.first == Self.wireVersion,
            let publisher = integer(8), let sequence = integer(8), let kind = take(1)?.first
        else { return nil }
        switch kind {
        case 1:
            guard offset == bytes.count else { return nil }
            self.init(publisher: publisher, sequence: sequence, scope: .everything)
        case 0:
            guard let count = integer(2), count <= Self.maximumKeysPerMessage else { return nil }
            var keys: [String] = []
            keys.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let length = integer(2), let utf8 = take(Int(length)) else { return nil }
                keys.append(String(decoding: utf8, as: UTF8.self))
            }
            guard offset == bytes.count else { return nil }
            self.init(publisher: publisher, sequence: sequence, scope: .keys(keys))
        case 2:
            guard let length = integer(2), let utf8 = take(Int(length)), let epoch = integer(8), offset == bytes.count else {
                return nil
            }
            self.init(
                publisher: publisher, sequence: sequence,
                scope: .tagEpoch(tag: String(decoding: utf8, as: UTF8.self), epoch: Int64(bitPattern: epoch)))
        default:
            return nil
        }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
