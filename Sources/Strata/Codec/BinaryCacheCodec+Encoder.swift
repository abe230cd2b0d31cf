// The Encoder behind BinaryCacheCodec.
//
// Containers may be written in any interleaving Codable allows (a nested container filled after
// its parent's next entry), so each keyed or unkeyed container is a node of a small tree whose
// header (its entry count) is only known once it is complete. The tree is flattened once, at the
// end, into a buffer of exactly the right size.
//
// The containers declare only the generic `encode<T>`: it also witnesses the scalar requirements
// (`encode(_: Bool)`, `encode(_: Int)`, ...), and `encodeValue` writes scalars directly. Only the
// `encodeIfPresent` overloads are spelled out, because the standard library's defaults for
// them would skip nil values, which a positional format cannot do.

/// One container's bytes, plus the child containers to splice in at given offsets.
final class BinaryEncodingNode {
    enum Kind {
        /// No header: a value's bytes in its parent's position (the root, a super-encoder slot).
        case slot
        /// An entry count, the key name when the count is 1, then the entries.
        case keyed
        /// An element count, then the elements.
        case unkeyed
    }

    let kind: Kind
    var writer = ByteWriter()
    var children: [(offset: Int, node: BinaryEncodingNode)] = []
    var count = 0
    var firstKey: String?

    init(kind: Kind) {
        self.kind = kind
    }

    /// Starts a child container at the current position.
    func addChild(_ kind: Kind) -> BinaryEncodingNode {
        let child = BinaryEncodingNode(kind: kind)
        children.append((writer.bytes.count, child))
        return child
    }

    /// Counts one more entry of a keyed container, remembering the first key's name.
    func noteEntry(_ key: some CodingKey) {
        if count == 0 { firstKey = key.stringValue }
        count += 1
    }

    var serializedSize: Int {
        var size = writer.bytes.count
        switch kind {
        case .slot: break
        case .unkeyed: size += ByteWriter.varintSize(UInt64(count))
        case .keyed:
            size += ByteWriter.varintSize(UInt64(count))
            if count == 1 {
                let length = (firstKey ?? "").utf8.count
                size += ByteWriter.varintSize(UInt64(length)) + length
            }
        }
        for child in children { size += child.node.serializedSize }
        return size
    }

    func serialize(into out: inout ByteWriter) {
        switch kind {
        case .slot: break
        case .unkeyed: out.append(varint: UInt64(count))
        case .keyed:
            out.append(varint: UInt64(count))
            if count == 1 { out.append(lengthPrefixed: firstKey ?? "") }
        }
        var position = 0
        for child in children {
            out.append(contentsOf: writer.bytes[position..<child.offset])
            child.node.serialize(into: &out)
            position = child.offset
        }
        out.append(contentsOf: writer.bytes[position...])
    }

    /// Writes any value at the current position: scalars directly, optionals and dictionaries
    /// in the codec's own form, everything else through its `encode(to:)`.
    func encodeValue<T: Encodable>(_ value: T, depth: Int, maximumDepth: Int) throws {
        if writeScalar(value) { return }
        if let optional = value as? any BinaryEncodableSpecial {
            try optional.encodeBinary(into: self, depth: depth, maximumDepth: maximumDepth)
            return
        }
        guard depth < maximumDepth else { throw CacheCodecError(.depthExceeded) }
        try value.encode(to: BinaryEncoder(node: self, depth: depth + 1, maximumDepth: maximumDepth))
    }

    /// Writes `value` if it is one of Codable's scalar types. Metatype comparisons first: a
    /// failed dynamic cast per scalar type would cost more than the rest of the encoding.
    private func writeScalar<T>(_ value: T) -> Bool {
        if T.self == String.self, let value = value as? String {
            writer.append(lengthPrefixed: value)
        } else if T.self == Int.self, let value = value as? Int {
            writer.append(signed: value)
        } else if T.self == Bool.self, let value = value as? Bool {
            writer.append(bool: value)
        } else if T.self == Double.self, let value = value as? Double {
            writer.append(double: value)
        } else if T.self == Int64.self, let value = value as? Int64 {
            writer.append(signed: value)
        } else if T.self == UInt8.self, let value = value as? UInt8 {
            writer.append(unsigned: value)
        } else if T.self == UInt64.self, let value = value as? UInt64 {
            writer.append(unsigned: value)
        } else if T.self == UInt.self, let value = value as? UInt {
            writer.append(unsigned: value)
        } else if T.self == Int32.self, let value = value as? Int32 {
            writer.append(signed: value)
        } else if T.self == UInt32.self, let value = value as? UInt32 {
            writer.append(unsigned: value)
        } else if T.self == Float.self, let value = value as? Float {
            writer.append(float: value)
        } else if T.self == Int16.self, let value = value as? Int16 {
            writer.append(signed: value)
        } else if T.self == UInt16.self, let value = value as? UInt16 {
            writer.append(unsigned: value)
        } else if T.self == Int8.self, let value = value as? Int8 {
            writer.append(signed: value)
        } else {
            return false
        }
        return true
    }
}

/// Types the binary codec writes in a form of its own rather than through `encode(to:)`.
protocol BinaryEncodableSpecial {
    func encodeBinary(into node: BinaryEncodingNode, depth: Int, maximumDepth: Int) throws
}

extension Optional: BinaryEncodableSpecial where Wrapped: Encodable {
    /// A presence byte, then the value when present.
    func encodeBinary(into node: BinaryEncodingNode, depth: Int, maximumDepth: Int) throws {
        switch self {
        case .none: node.writer.append(0)
        case .some(let wrapped):
            node.writer.append(1)
            try node.encodeValue(wrapped, depth: depth, maximumDepth: maximumDepth)
        }
    }
}

extension Dictionary: BinaryEncodableSpecial where Key: Encodable, Value: Encodable {
    /// An unkeyed container of alternating keys and values: dictionary keys are data, not
    /// field names, so they must be stored whatever the key type.
    func encodeBinary(into node: BinaryEncodingNode, depth: Int, maximumDepth: Int) throws {
        guard depth < maximumDepth else { throw CacheCodecError(.depthExceeded) }
        let container = node.addChild(.unkeyed)
        for (key, value) in self {
            try container.encodeValue(key, depth: depth + 1, maximumDepth: maximumDepth)
            try container.encodeValue(value, depth: depth + 1, maximumDepth: maximumDepth)
            container.count += 2
        }
    }
}

/// Where a container writes (its node) and at which nesting depth; makes its children.
struct BinaryEncodingPosition {
    let node: BinaryEncodingNode
    let depth: Int
    let maximumDepth: Int

    func encode<T: Encodable>(_ value: T) throws {
        try node.encodeValue(value, depth: depth, maximumDepth: maximumDepth)
    }

    private func child(_ kind: BinaryEncodingNode.Kind) -> BinaryEncodingPosition {
        BinaryEncodingPosition(node: node.addChild(kind), depth: depth, maximumDepth: maximumDepth)
    }

    func keyedChild<Key: CodingKey>(_: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(BinaryKeyedEncodingContainer<Key>(position: child(.keyed)))
    }

    func unkeyedChild() -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncodingContainer(position: child(.unkeyed))
    }

    /// An encoder for a super class's values, in a header-less slot at the current position.
    func slotEncoder() -> any Encoder {
        BinaryEncoder(position: child(.slot))
    }
}

/// The `Encoder` handed to a value's `encode(to:)`.
struct BinaryEncoder: Encoder {
    let position: BinaryEncodingPosition

    init(position: BinaryEncodingPosition) {
        self.position = position
    }

    init(node: BinaryEncodingNode, depth: Int, maximumDepth: Int) {
        position = BinaryEncodingPosition(node: node, depth: depth, maximumDepth: maximumDepth)
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { position.keyedChild(Key.self) }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { position.unkeyedChild() }
    func singleValueContainer() -> any SingleValueEncodingContainer { BinarySingleValueEncodingContainer(position: position) }
}

/// `encodeNil` outside an `Optional`: without a presence byte on the non-nil path, the reader
/// could not tell the two apart.
private func unsupportedNil() -> CacheCodecError {
    CacheCodecError(.unsupported)
}

struct BinaryKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let position: BinaryEncodingPosition
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { throw unsupportedNil() }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        position.node.noteEntry(key)
        try position.encode(value)
    }

    // Synthesized conformances skip absent optionals; a positional format must not, so every
    // `encodeIfPresent` writes a presence byte.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encode(value, forKey: key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encode(value, forKey: key) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        position.node.noteEntry(key)
        return position.keyedChild(NestedKey.self)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        position.node.noteEntry(key)
        return position.unkeyedChild()
    }

    mutating func superEncoder() -> any Encoder {
        position.node.count += 1
        return position.slotEncoder()
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        position.node.noteEntry(key)
        return position.slotEncoder()
    }
}

struct BinaryUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let position: BinaryEncodingPosition
    var codingPath: [any CodingKey] { [] }
    var count: Int { position.node.count }

    mutating func encodeNil() throws { throw unsupportedNil() }

    mutating func encode<T: Encodable>(_ value: T) throws {
        position.node.count += 1
        try position.encode(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        position.node.count += 1
        return position.keyedChild(NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        position.node.count += 1
        return position.unkeyedChild()
    }

    mutating func superEncoder() -> any Encoder {
        position.node.count += 1
        return position.slotEncoder()
    }
}

struct BinarySingleValueEncodingContainer: SingleValueEncodingContainer {
    let position: BinaryEncodingPosition
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { throw unsupportedNil() }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try position.encode(value)
    }
}
