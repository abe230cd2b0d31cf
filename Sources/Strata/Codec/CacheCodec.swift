#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Turns values into payload bytes and back.
///
/// A codec's ``id`` is stored in every ``CacheEnvelope`` it fills; an entry whose id differs from
/// the reading codec's is treated as a miss, so changing codecs never misreads old entries.
/// Ids 0–127 are reserved for Strata's codecs, 128–255 are free for applications.
///
/// Implementations must be safe to call from any number of tasks at once. `decode` receives
/// bytes from a shared store: it must fail with an error (never crash, never allocate from an
/// unchecked length) on any input.
public protocol CacheCodec<Value>: Sendable {
    /// The type of the values this codec handles.
    associatedtype Value

    /// The codec's identifier, stored in the envelope.
    var id: UInt8 { get }

    /// The payload bytes for `value`.
    func encode(_ value: Value) throws -> [UInt8]

    /// The value encoded in `bytes`.
    func decode(_ bytes: [UInt8]) throws -> Value
}

/// Identifiers of Strata's own codecs.
public enum CacheCodecID {
    /// ``RawBytesCacheCodec``.
    public static let rawBytes: UInt8 = 0
    /// ``StringCacheCodec``.
    public static let string: UInt8 = 1
    /// ``JSONCacheCodec``.
    public static let json: UInt8 = 2
    /// ``BinaryCacheCodec``.
    public static let binary: UInt8 = 3
}

/// Stores `[UInt8]` values as they are.
public struct RawBytesCacheCodec: CacheCodec {
    /// Creates the codec.
    public init() {}

    /// ``CacheCodecID/rawBytes``.
    public var id: UInt8 { CacheCodecID.rawBytes }

    /// The value itself.
    public func encode(_ value: [UInt8]) -> [UInt8] { value }

    /// The bytes themselves.
    public func decode(_ bytes: [UInt8]) -> [UInt8] { bytes }
}

/// Stores strings as UTF-8.
public struct StringCacheCodec: CacheCodec {
    /// Creates the codec.
    public init() {}

    /// ``CacheCodecID/string``.
    public var id: UInt8 { CacheCodecID.string }

    /// The string's UTF-8 bytes.
    public func encode(_ value: String) -> [UInt8] { Array(value.utf8) }

    /// The string, or ``CacheCodecError/Code/invalidUTF8`` when the bytes are not UTF-8.
    public func decode(_ bytes: [UInt8]) throws(CacheCodecError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw CacheCodecError(.invalidUTF8) }
        return string
    }
}

/// Stores `Codable` values as JSON: readable with `redis-cli`, tolerant of added optional fields.
///
/// The default codec. With the default coders, dates use Foundation's default strategy (seconds
/// since 2001 as a number) and data is Base64; pass configured coders to change that (every
/// instance sharing the cache must agree). Slower and larger than ``BinaryCacheCodec``, but field
/// names make it robust to reordered or added fields.
public struct JSONCacheCodec<Value: Codable>: CacheCodec {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    /// Creates the codec. The coders are shared by every call (they are thread-safe); do not
    /// change their settings afterwards.
    public init(encoder: JSONEncoder = JSONEncoder(), decoder: JSONDecoder = JSONDecoder()) {
        self.encoder = encoder
        self.decoder = decoder
    }

    /// ``CacheCodecID/json``.
    public var id: UInt8 { CacheCodecID.json }

    /// The value as JSON (UTF-8).
    public func encode(_ value: Value) throws(CacheCodecError) -> [UInt8] {
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw CacheCodecError(.encodingFailed, underlying: error)
        }
    }

    /// The value from JSON; malformed JSON or a wrong shape is ``CacheCodecError/Code/decodingFailed``.
    public func decode(_ bytes: [UInt8]) throws(CacheCodecError) -> Value {
        do {
            return try decoder.decode(Value.self, from: Data(bytes))
        } catch {
            throw CacheCodecError(.decodingFailed, underlying: error)
        }
    }
}
