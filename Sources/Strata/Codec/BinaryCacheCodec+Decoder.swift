// The Decoder behind BinaryCacheCodec: one shared cursor over the bytes, containers that count
// their entries, and a check after every `init(from:)` that the type read exactly the entries
// that were written (a type that gained or lost a property fails instead of misreading).
//
// Container bookkeeping lives in the shared state's reusable array, so decoding a struct
// allocates only the `KeyedDecodingContainer` box the Codable API requires (and its strings).
// The keyed container spells out the scalar `decode` overloads (a direct read, no dynamic cast,
// on the hot path of every property) and the `decodeIfPresent` ones (each reads a presence byte;
// the standard library's defaults would call `decodeNil`). Elsewhere the generic `decode<T>`
// also witnesses the scalar requirements.

/// The cursor, depth and open containers shared by every container of one decode.
final class BinaryDecodingState {
    /// One container's entry count and how many have been read.
    struct ContainerCursor {
        var id: UInt64
        var count: Int
        var index = 0
        /// The key name stored with a single-entry keyed container (how enum cases are told
        /// apart). Kept here rather than in the container, whose copies the Codable boxes make.
        var keyName: String?
    }

    /// The mutable state, kept out of line: stored `var`s of a class get a dynamic exclusivity
    /// check (`swift_beginAccess`) on every access, several per decoded property, which cost about
    /// as much as the decoding itself. Accesses through a pointer are not checked; one decode uses
    /// the state from one task, and its accesses never overlap.
    private struct Storage {
        var reader: ByteReader<CacheCodecError>
        var depth = 0
        /// The containers opened by the values being decoded, innermost last.
        var cursors: [ContainerCursor] = []
        var nextID: UInt64 = 0
    }

    private let storage: UnsafeMutablePointer<Storage>
    let maximumDepth: Int

    var reader: ByteReader<CacheCodecError> {
        _read { yield storage.pointee.reader }
        _modify { yield &storage.pointee.reader }
    }

    var depth: Int {
        get { storage.pointee.depth }
        set { storage.pointee.depth = newValue }
    }

    private var cursors: [ContainerCursor] {
        _read { yield storage.pointee.cursors }
        _modify { yield &storage.pointee.cursors }
    }

    private var nextID: UInt64 {
        get { storage.pointee.nextID }
        set { storage.pointee.nextID = newValue }
    }

    init(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: Storage(reader: ByteReader(bytes)))
        self.maximumDepth = maximumDepth
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
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
        let mark = cursors.count
        let value = try T(from: BinaryDecoder(state: self))
        // Every container the type opened must have been read to its end.
        for cursor in cursors[mark...] where cursor.index != cursor.count {
            throw CacheCodecError(.decodingFailed, offset: reader.offset)
        }
        cursors.removeSubrange(mark...)
        return value
    }

    /// Counts one level of nesting, failing beyond ``maximumDepth``.
    func enter() throws(CacheCodecError) {
        guard depth < maximumDepth else { throw CacheCodecError(.depthExceeded, offset: reader.offset) }
        depth += 1
    }

    /// Reads a container's header (its count and, for a keyed container of one entry, the key
    /// name) and starts tracking it; returns its handle.
    func openContainer(keyed: Bool) throws(CacheCodecError) -> (slot: Int, id: UInt64) {
        let count = try reader.readCount()
        let keyName = keyed && count == 1 ? try reader.readLengthPrefixedString() : nil
        nextID &+= 1
        cursors.append(ContainerCursor(id: nextID, count: count, keyName: keyName))
        return (cursors.count - 1, nextID)
    }

    /// The key name stored with a single-entry keyed container.
    func keyName(_ handle: (slot: Int, id: UInt64)) -> String? {
        guard handle.slot < cursors.count, cursors[handle.slot].id == handle.id else { return nil }
        return cursors[handle.slot].keyName
    }

    /// Consumes one entry of a container, failing when it has none left (the reading type
    /// expects more than was written) or when the container's decode is already over.
    func nextEntry(_ handle: (slot: Int, id: UInt64)) throws(CacheCodecError) {
        guard handle.slot < cursors.count, cursors[handle.slot].id == handle.id,
            cursors[handle.slot].index < cursors[handle.slot].count
        else { throw CacheCodecError(.decodingFailed, offset: reader.offset) }
        cursors[handle.slot].index += 1
    }

    /// Whether a container has entries left.
    func hasEntries(_ handle: (slot: Int, id: UInt64)) -> Bool {
        handle.slot < cursors.count && cursors[handle.slot].id == handle.id
            && cursors[handle.slot].index < cursors[handle.slot].count
    }

    /// A container's entry count and read position.
    func position(_ handle: (slot: Int, id: UInt64)) -> (count: Int, index: Int) {
        guard handle.slot < cursors.count, cursors[handle.slot].id == handle.id else { return (0, 0) }
        return (cursors[handle.slot].count, cursors[handle.slot].index)
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

/// The `Decoder` handed to a type's `init(from:)`.
struct BinaryDecoder: Decoder {
    let state: BinaryDecodingState

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try BinaryKeyedDecodingContainer<Key>(state: state))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecodingContainer(state: state)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecodingContainer(state: state)
    }
}

struct BinaryKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: BinaryDecodingState
    let handle: (slot: Int, id: UInt64)

    init(state: BinaryDecodingState) throws(CacheCodecError) {
        self.state = state
        handle = try state.openContainer(keyed: true)
    }

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] {
        guard let keyName = state.keyName(handle), let key = Key(stringValue: keyName) else { return [] }
        return [key]
    }

    func contains(_ key: Key) -> Bool { state.hasEntries(handle) }

    private func next() throws(CacheCodecError) { try state.nextEntry(handle) }

    func decodeNil(forKey key: Key) throws -> Bool { throw CacheCodecError(.unsupported, offset: state.reader.offset) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try next(); return try state.reader.readBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try next(); return try state.reader.readLengthPrefixedString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try next(); return try state.reader.readDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try next(); return try state.reader.readFloat() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try next(); return try state.reader.readSigned(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try next(); return try state.reader.readSigned(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try next(); return try state.reader.readSigned(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try next(); return try state.reader.readSigned(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try next(); return try state.reader.readSigned(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try next(); return try state.reader.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try next(); return try state.reader.readUnsigned(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try next(); return try state.reader.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try next(); return try state.reader.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try next(); return try state.reader.readUnsigned(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try next()
        return try state.decodeValue(T.self)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try next(); return try state.readPresence() ? state.reader.readBool() : nil }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try next(); return try state.readPresence() ? state.reader.readLengthPrefixedString() : nil }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try next(); return try state.readPresence() ? state.reader.readDouble() : nil }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try next(); return try state.readPresence() ? state.reader.readFloat() : nil }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try next(); return try state.readPresence() ? state.reader.readSigned(Int.self) : nil }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try next(); return try state.readPresence() ? state.reader.readSigned(Int8.self) : nil }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try next(); return try state.readPresence() ? state.reader.readSigned(Int16.self) : nil }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try next(); return try state.readPresence() ? state.reader.readSigned(Int32.self) : nil }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try next(); return try state.readPresence() ? state.reader.readSigned(Int64.self) : nil }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try next(); return try state.readPresence() ? state.reader.readUnsigned(UInt.self) : nil }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try next(); return try state.readPresence() ? state.reader.readUnsigned(UInt8.self) : nil }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try next(); return try state.readPresence() ? state.reader.readUnsigned(UInt16.self) : nil }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try next(); return try state.readPresence() ? state.reader.readUnsigned(UInt32.self) : nil }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try next(); return try state.readPresence() ? state.reader.readUnsigned(UInt64.self) : nil }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try next()
        return try state.readPresence() ? state.decodeValue(T.self) : nil
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next()
        return KeyedDecodingContainer(try BinaryKeyedDecodingContainer<NestedKey>(state: state))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try next()
        return try BinaryUnkeyedDecodingContainer(state: state)
    }

    func superDecoder() throws -> any Decoder {
        try next()
        return BinaryDecoder(state: state)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try next()
        return BinaryDecoder(state: state)
    }
}

struct BinaryUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let state: BinaryDecodingState
    let handle: (slot: Int, id: UInt64)

    init(state: BinaryDecodingState) throws(CacheCodecError) {
        self.state = state
        handle = try state.openContainer(keyed: false)
    }

    var codingPath: [any CodingKey] { [] }
    var count: Int? { state.position(handle).count }
    var isAtEnd: Bool { !state.hasEntries(handle) }
    var currentIndex: Int { state.position(handle).index }

    mutating func decodeNil() throws -> Bool { throw CacheCodecError(.unsupported, offset: state.reader.offset) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.nextEntry(handle)
        return try state.decodeValue(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try state.nextEntry(handle)
        return KeyedDecodingContainer(try BinaryKeyedDecodingContainer<NestedKey>(state: state))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try state.nextEntry(handle)
        return try BinaryUnkeyedDecodingContainer(state: state)
    }

    mutating func superDecoder() throws -> any Decoder {
        try state.nextEntry(handle)
        return BinaryDecoder(state: state)
    }
}

struct BinarySingleValueDecodingContainer: SingleValueDecodingContainer {
    let state: BinaryDecodingState
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.decodeValue(T.self)
    }
}
