/// Stores `Codable` values in a compact positional binary format: no field names, varint
/// integers, length-prefixed strings.
///
/// Typically a third to a half of the JSON size, and several times faster to decode. The price is
/// that the bytes only make sense to the exact type that wrote them:
///
/// - **Keyed containers are positional.** Properties are written in the order `encode(to:)`
///   writes them (declaration order for synthesized conformances) and read back in the order
///   `init(from:)` reads them. Adding, removing, reordering or retyping a stored property makes
///   old entries undecodable or, worse, decodable as wrong values. **Change the key's version
///   (or the cache namespace) whenever the value type changes.**
/// - A keyed container with exactly one entry also stores that entry's key name: this is how
///   enum cases (synthesized `Codable` with associated values) are told apart.
/// - Optionals (properties, elements, top level) carry a one-byte presence marker. Calling
///   `encodeNil`/`decodeNil` directly, custom code that decodes keys in another order than it
///   encoded them, and `allKeys` on containers of more than one entry are not supported; they
///   fail with ``CacheCodecError/Code/unsupported`` or ``CacheCodecError/Code/decodingFailed``.
/// - Dictionaries are written as counted key/value pairs, in the dictionary's iteration order.
///
/// Wire format, per value: `Bool` one byte (0/1); signed integers zigzag varints; unsigned
/// integers varints; `Float`/`Double` their IEEE bits, little-endian; `String` a varint length
/// and UTF-8; optional a 0/1 byte, then the value when 1; keyed container a varint entry count
/// (plus the key name when the count is 1), then the entries; unkeyed container a varint count,
/// then the elements.
///
/// Decoding is bounded: every length and count is checked against the bytes that remain before
/// anything is read or reserved, containers may nest at most ``maximumDepth`` deep, and bytes
/// left over after the value are an error. Safe to share between tasks (it holds no state).
public struct BinaryCacheCodec<Value: Codable>: CacheCodec {
    /// The deepest nesting of values decoded or encoded before failing with
    /// ``CacheCodecError/Code/depthExceeded``.
    public var maximumDepth: Int

    /// Creates the codec.
    public init(maximumDepth: Int = 32) {
        self.maximumDepth = maximumDepth
    }

    /// ``CacheCodecID/binary``.
    public var id: UInt8 { CacheCodecID.binary }

    /// The value's compact bytes.
    ///
    /// - Throws: ``CacheCodecError`` (`unsupported`, `depthExceeded`), or `encodingFailed`
    ///   wrapping an error thrown by the value's own `encode(to:)`.
    public func encode(_ value: Value) throws(CacheCodecError) -> [UInt8] {
        let root = BinaryEncodingNode(kind: .slot)
        do {
            try root.encodeValue(value, depth: 0, maximumDepth: maximumDepth)
        } catch let error as CacheCodecError {
            throw error
        } catch {
            throw CacheCodecError(.encodingFailed, underlying: error)
        }
        var writer = ByteWriter(capacity: root.serializedSize)
        root.serialize(into: &writer)
        return writer.bytes
    }

    /// The value in `bytes`.
    ///
    /// - Throws: ``CacheCodecError``: a format error (`truncated`, `malformedLength`,
    ///   `invalidUTF8`, `invalidMarker`, `valueOutOfRange`, `depthExceeded`, `trailingBytes`),
    ///   or `decodingFailed` wrapping an error thrown by the type's own `init(from:)`.
    public func decode(_ bytes: [UInt8]) throws(CacheCodecError) -> Value {
        let maximumDepth = maximumDepth
        let result = bytes.withUnsafeBytes { buffer -> Result<Value, CacheCodecError> in
            let state = BinaryDecodingState(buffer, maximumDepth: maximumDepth)
            do {
                let value = try state.decodeValue(Value.self)
                guard state.reader.isAtEnd else {
                    return .failure(CacheCodecError(.trailingBytes, offset: state.reader.offset))
                }
                return .success(value)
            } catch let error as CacheCodecError {
                return .failure(error)
            } catch {
                return .failure(CacheCodecError(.decodingFailed, offset: state.reader.offset, underlying: error))
            }
        }
        return try result.get()
    }
}
