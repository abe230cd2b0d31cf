/// Why bytes read from the distributed tier could not be decoded as a ``CacheEnvelope``.
///
/// The cache treats any of these as a miss (and counts it); nothing is ever trusted from bytes
/// that failed a check. `description` names the code and the byte offset, never content.
public struct CacheEnvelopeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case truncated
            case badMagic = "bad_magic"
            case unsupportedVersion = "unsupported_version"
            case unsupportedFlags = "unsupported_flags"
            case malformedLength = "malformed_length"
            case payloadTooLarge = "payload_too_large"
            case tooManyTags = "too_many_tags"
            case tagTooLong = "tag_too_long"
            case invalidTag = "invalid_tag"
            case trailingBytes = "trailing_bytes"
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The bytes end before a field (or the payload) they announce.
        public static let truncated = Code(.truncated)
        /// The bytes do not start with the envelope's magic: not written by Strata.
        public static let badMagic = Code(.badMagic)
        /// A format version this build does not read (written by a newer Strata).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// Flag bits this build does not know are set.
        public static let unsupportedFlags = Code(.unsupportedFlags)
        /// A length or count is not a valid varint.
        public static let malformedLength = Code(.malformedLength)
        /// The announced payload is larger than ``CacheEnvelope/Limits/maximumPayloadBytes``.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// More tags are announced than ``CacheEnvelope/Limits/maximumTagCount``.
        public static let tooManyTags = Code(.tooManyTags)
        /// A tag is longer than ``CacheEnvelope/Limits/maximumTagBytes``.
        public static let tagTooLong = Code(.tagTooLong)
        /// A tag is not valid UTF-8.
        public static let invalidTag = Code(.invalidTag)
        /// Bytes remain after the payload.
        public static let trailingBytes = Code(.trailingBytes)

        public var description: String { base.rawValue }
    }

    /// What was wrong.
    public var code: Code
    /// The byte offset at which decoding stopped.
    public var offset: Int

    /// Creates an error.
    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "CacheEnvelopeError(\(code) at byte \(offset))" }
}

extension CacheEnvelopeError: ByteReaderFailure {
    static func truncated(at offset: Int) -> CacheEnvelopeError { CacheEnvelopeError(.truncated, offset: offset) }
    static func malformedVarint(at offset: Int) -> CacheEnvelopeError { CacheEnvelopeError(.malformedLength, offset: offset) }
}
