// The Decoder behind BinaryCacheCodec: one shared cursor over the bytes, containers that count
// their entries, and a check after every `init(from:)` that the type read exactly the entries
// that were written (a type that gained or lost a property fails instead of misreading).

/// The cursor and depth shared by every container of one decode.
final class BinaryDecodingState {
    var reader: ByteReader<CacheCodecError>
    let maximumDepth: Int
    var depth = 0

    init(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        reader = ByteReader(bytes)
        self.maximumDepth = maximumDepth
    }

    /// Reads any value: scalars directly, optionals and dictionaries in the codec's own form,
    /// everything else through its `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = try readScalar(T.self) { return scalar }
        if let special = T.self as? any BinaryDecodableSpecial.Type {
            guard let value = try special.decodeBinary(from: self) as? T else { throw CacheCodecError(.unsupported) }
            return value
        }
        try enter()
        defer { depth -= 1 }
        let decoder = BinaryDecoder(state: self)
        let value = try T(from: decoder)
        try decoder.checkConsumed()
        return value
    }

    /// Counts one level of nesting, failing beyond ``maximumDepth``.
    func enter() throws(CacheCodecError) {
        guard depth < maximumDepth else { throw CacheCodecError(.depthExceeded, offset: reader.offset) }
        depth += 1
    }

    /// An optional's presence byte.
    func readPresence() throws(CacheCodecError) -> Bool {
        switch try reader.readByte() {
        case 0: return false
        case 1: return true
        default: throw CacheCodecError(.invalidMarker, offset: reader.offset - 1)
        }
    }

    /// `T` read directly when it is a scalar type; nil for any other type (nothing consumed).
    /// Metatype comparisons, not casts: they cost nothing when the type does not match.
    private func readScalar<T>(_: T.Type) throws -> T? {
        if T.self == Bool.self {
            return try reader.readBool() as? T
        } else if T.self == String.self {
            return try reader.readLengthPrefixedString() as? T
        } else if T.self == Double.self {
            return try reader.readDouble() as? T
        } else if T.self == Float.self {
            return try reader.readFloat() as? T
        } else if T.self == Int.self {
            return try reader.readSigned(Int.self) as? T
        } else if T.self == Int8.self {
            return try reader.readSigned(Int8.self) as? T
        } else if T.self == Int16.self {
            return try reader.readSigned(Int16.self) as? T
        } else if T.self == Int32.self {
            return try reader.readSigned(Int32.self) as? T
        } else if T.self == Int64.self {
            return try reader.readSigned(Int64.self) as? T
        } else if T.self == UInt.self {
            return try reader.readUnsigned(UInt.self) as? T
        } else if T.self == UInt8.self {
            return try reader.readUnsigned(UInt8.self) as? T
        } else if T.self == UInt16.self {
            return try reader.readUnsigned(UInt16.self) as? T
        } else if T.self == UInt32.self {
            return try reader.readUnsigned(UInt32.self) as? T
        } else if T.self == UInt64.self {
            return try reader.readUnsigned(UInt64.self) as? T
        }
        return nil
    }
}

/// Types the binary codec reads in a form of its own rather than through `init(from:)`.
protocol BinaryDecodableSpecial {
    static func decodeBinary(from state: BinaryDecodingState) throws -> Self
}

extension Optional: BinaryDecodableSpecial where Wrapped: Decodable {
    static func decodeBinary(from state: BinaryDecodingState) throws -> Self {
        try state.readPresence() ? try state.decodeValue(Wrapped.self) : nil
    }
}

extension Dictionary: BinaryDecodableSpecial where Key: Decodable, Value: Decodable {
    static func decodeBinary(from state: BinaryDecodingState) throws -> Self {
        try state.enter()
        defer { state.depth -= 1 }
        let start = state.reader.offset
        let count = try state.reader.readCount()
        guard count % 2 == 0 else { throw CacheCodecError(.decodingFailed, offset: start) }
        // Not reserving `count / 2`: a hostile count would cost far more memory than its bytes.
        var dictionary: [Key: Value] = [:]
        for _ in 0..<(count / 2) {
            let key = try state.decodeValue(Key.self)
            dictionary[key] = try state.decodeValue(Value.self)
        }
        return dictionary
    }
}

/// How many entries a container holds and how many have been read.
final class BinaryContainerCursor {
    let count: Int
    var index = 0

    init(count: Int) {
        self.count = count
    }
}

/// The `Decoder` handed to a type's `init(from:)`.
final class BinaryDecoder: Decoder {
    let state: BinaryDecodingState
    private var cursors: [BinaryContainerCursor] = []

    init(state: BinaryDecodingState) {
        self.state = state
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try BinaryKeyedDecodingContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecodingContainer(decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecodingContainer(state: state)
    }

    /// Reads a container's count and tracks it for ``checkConsumed()``.
    func openContainer() throws(CacheCodecError) -> BinaryContainerCursor {
        let cursor = BinaryContainerCursor(count: try state.reader.readCount())
        cursors.append(cursor)
        return cursor
    }

    /// Fails when a container still holds entries: the type that read them is not the type
    /// that wrote them.
    func checkConsumed() throws(CacheCodecError) {
        for cursor in cursors where cursor.index != cursor.count {
            throw CacheCodecError(.decodingFailed, offset: state.reader.offset)
        }
    }
}

/// Running past a container's last entry: the reading type expects more than was written.
private func missingEntry(_ state: BinaryDecodingState) -> CacheCodecError {
    CacheCodecError(.decodingFailed, offset: state.reader.offset)
}

struct BinaryKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: BinaryDecoder
    let cursor: BinaryContainerCursor
    /// The key name stored with a single-entry container (how enum cases are told apart).
    let keyName: String?
    var state: BinaryDecodingState { decoder.state }

    init(decoder: BinaryDecoder) throws(CacheCodecError) {
        self.decoder = decoder
        cursor = try decoder.openContainer()
        keyName = cursor.count == 1 ? try decoder.state.reader.readLengthPrefixedString() : nil
    }

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] {
        guard let keyName, let key = Key(stringValue: keyName) else { return [] }
        return [key]
    }

    func contains(_ key: Key) -> Bool { cursor.index < cursor.count }

    private func next(_ key: Key) throws(CacheCodecError) {
        guard cursor.index < cursor.count else { throw missingEntry(state) }
        cursor.index += 1
    }

    func decodeNil(forKey key: Key) throws -> Bool { throw CacheCodecError(.unsupported, offset: state.reader.offset) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try next(key); return try state.reader.readBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try next(key); return try state.reader.readLengthPrefixedString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try next(key); return try state.reader.readDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try next(key); return try state.reader.readFloat() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try next(key); return try state.reader.readSigned(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try next(key); return try state.reader.readSigned(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try next(key); return try state.reader.readSigned(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try next(key); return try state.reader.readSigned(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try next(key); return try state.reader.readSigned(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try next(key); return try state.reader.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try next(key); return try state.reader.readUnsigned(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try next(key); return try state.reader.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try next(key); return try state.reader.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try next(key); return try state.reader.readUnsigned(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try next(key)
        return try state.decodeValue(T.self)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try next(key); return try state.readPresence() ? state.reader.readBool() : nil }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try next(key); return try state.readPresence() ? state.reader.readLengthPrefixedString() : nil }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try next(key); return try state.readPresence() ? state.reader.readDouble() : nil }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try next(key); return try state.readPresence() ? state.reader.readFloat() : nil }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try next(key); return try state.readPresence() ? state.reader.readSigned(Int.self) : nil }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try next(key); return try state.readPresence() ? state.reader.readSigned(Int8.self) : nil }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try next(key); return try state.readPresence() ? state.reader.readSigned(Int16.self) : nil }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try next(key); return try state.readPresence() ? state.reader.readSigned(Int32.self) : nil }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try next(key); return try state.readPresence() ? state.reader.readSigned(Int64.self) : nil }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try next(key); return try state.readPresence() ? state.reader.readUnsigned(UInt.self) : nil }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try next(key); return try state.readPresence() ? state.reader.readUnsigned(UInt8.self) : nil }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try next(key); return try state.readPresence() ? state.reader.readUnsigned(UInt16.self) : nil }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try next(key); return try state.readPresence() ? state.reader.readUnsigned(UInt32.self) : nil }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try next(key); return try state.readPresence() ? state.reader.readUnsigned(UInt64.self) : nil }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try next(key)
        return try state.readPresence() ? state.decodeValue(T.self) : nil
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next(key)
        return KeyedDecodingContainer(try BinaryKeyedDecodingContainer<NestedKey>(decoder: decoder))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try next(key)
        return try BinaryUnkeyedDecodingContainer(decoder: decoder)
    }

    func superDecoder() throws -> any Decoder {
        guard cursor.index < cursor.count else { throw missingEntry(state) }
        cursor.index += 1
        return BinaryDecoder(state: state)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try next(key)
        return BinaryDecoder(state: state)
    }
}

struct BinaryUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: BinaryDecoder
    let cursor: BinaryContainerCursor
    var state: BinaryDecodingState { decoder.state }

    init(decoder: BinaryDecoder) throws(CacheCodecError) {
        self.decoder = decoder
        cursor = try decoder.openContainer()
    }

    var codingPath: [any CodingKey] { [] }
    var count: Int? { cursor.count }
    var isAtEnd: Bool { cursor.index >= cursor.count }
    var currentIndex: Int { cursor.index }

    private func next() throws(CacheCodecError) {
        guard cursor.index < cursor.count else { throw missingEntry(state) }
        cursor.index += 1
    }

    mutating func decodeNil() throws -> Bool { throw CacheCodecError(.unsupported, offset: state.reader.offset) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(); return try state.reader.readBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next(); return try state.reader.readLengthPrefixedString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(); return try state.reader.readDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(); return try state.reader.readFloat() }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(); return try state.reader.readSigned(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(); return try state.reader.readSigned(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(); return try state.reader.readSigned(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(); return try state.reader.readSigned(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(); return try state.reader.readSigned(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(); return try state.reader.readUnsigned(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(); return try state.reader.readUnsigned(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(); return try state.reader.readUnsigned(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(); return try state.reader.readUnsigned(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(); return try state.reader.readUnsigned(UInt64.self) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        return try state.decodeValue(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next()
        return KeyedDecodingContainer(try BinaryKeyedDecodingContainer<NestedKey>(decoder: decoder))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try BinaryUnkeyedDecodingContainer(decoder: decoder)
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
        return BinaryDecoder(state: state)
    }
}

struct BinarySingleValueDecodingContainer: SingleValueDecodingContainer {
    let state: BinaryDecodingState
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }
    func decode(_ type: Bool.Type) throws -> Bool { try state.reader.readBool() }
    func decode(_ type: String.Type) throws -> String { try state.reader.readLengthPrefixedString() }
    func decode(_ type: Double.Type) throws -> Double { try state.reader.readDouble() }
    func decode(_ type: Float.Type) throws -> Float { try state.reader.readFloat() }
    func decode(_ type: Int.Type) throws -> Int { try state.reader.readSigned(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try state.reader.readSigned(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try state.reader.readSigned(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try state.reader.readSigned(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try state.reader.readSigned(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try state.reader.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try state.reader.readUnsigned(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try state.reader.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try state.reader.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try state.reader.readUnsigned(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.decodeValue(T.self)
    }
}
