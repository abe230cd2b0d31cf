/// Why a value could not be encoded, decoded, compressed or decompressed.
///
/// The cache treats a decoding failure as a miss (and counts it). `description` names the code
/// and, where known, the byte offset — never the value, and never the underlying error's text
/// (Foundation's messages can quote input); `debugDescription` adds the underlying error.
public struct CacheCodecError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case encodingFailed = "encoding_failed"
            case decodingFailed = "decoding_failed"
            case truncated
            case malformedLength = "malformed_length"
            case invalidUTF8 = "invalid_utf8"
            case invalidMarker = "invalid_marker"
            case valueOutOfRange = "value_out_of_range"
            case depthExceeded = "depth_exceeded"
            case trailingBytes = "trailing_bytes"
            case unsupported
            case compressionFailed = "compression_failed"
            case corruptCompressedData = "corrupt_compressed_data"
            case decompressedTooLarge = "decompressed_too_large"
            case invalidConfiguration = "invalid_configuration"
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The value could not be encoded (for JSON: a non-conforming float, an encoder error).
        public static let encodingFailed = Code(.encodingFailed)
        /// The bytes are well-formed for the codec but do not describe a `Value` (wrong shape,
        /// missing key, an enum case that no longer exists).
        public static let decodingFailed = Code(.decodingFailed)
        /// The bytes end before a value they announce.
        public static let truncated = Code(.truncated)
        /// A length or integer is not a valid varint.
        public static let malformedLength = Code(.malformedLength)
        /// A string is not valid UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A presence or boolean byte is neither 0 nor 1.
        public static let invalidMarker = Code(.invalidMarker)
        /// A number does not fit the type it is decoded as.
        public static let valueOutOfRange = Code(.valueOutOfRange)
        /// Containers nest deeper than the codec allows.
        public static let depthExceeded = Code(.depthExceeded)
        /// Bytes remain after the value.
        public static let trailingBytes = Code(.trailingBytes)
        /// The value uses a `Codable` feature the codec cannot represent (see the codec's docs).
        public static let unsupported = Code(.unsupported)
        /// zlib refused to compress.
        public static let compressionFailed = Code(.compressionFailed)
        /// Compressed bytes are corrupt or do not expand to their announced size.
        public static let corruptCompressedData = Code(.corruptCompressedData)
        /// The announced decompressed size exceeds the configured maximum.
        public static let decompressedTooLarge = Code(.decompressedTooLarge)
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The byte offset at which decoding stopped, when the codec knows it.
    public var offset: Int?
    /// The error the codec's machinery threw (e.g. a `DecodingError`), if any.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, offset: Int? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.offset = offset
        self.underlying = underlying
    }

    public var description: String {
        offset.map { "CacheCodecError(\(code) at byte \($0))" } ?? "CacheCodecError(\(code))"
    }

    public var debugDescription: String {
        underlying.map { "\(description): \(String(reflecting: $0))" } ?? description
    }
}

extension CacheCodecError: ByteReaderFailure {
    static func truncated(at offset: Int) -> CacheCodecError { CacheCodecError(.truncated, offset: offset) }
    static func malformedVarint(at offset: Int) -> CacheCodecError { CacheCodecError(.malformedLength, offset: offset) }
}
