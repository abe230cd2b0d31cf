/// A reply that cannot be decoded.
///
/// A parse error means the byte stream can no longer be trusted: the connection that produced it
/// must be closed, never resynchronised. The description names what was wrong and where, never
/// the payload bytes (they may hold keys or cached values).
public struct RESPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of malformation was found.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case invalidTypeByte, invalidInteger, invalidLength, missingCRLF
            case invalidDouble, invalidBoolean, invalidBigNumber, invalidVerbatim
            case bulkLengthLimitExceeded, aggregateCountLimitExceeded, depthLimitExceeded
            case replyBytesLimitExceeded, lineLengthLimitExceeded, unsupportedStreamedType
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The first byte of a value is not a RESP2 or RESP3 type marker.
        public static let invalidTypeByte = Code(.invalidTypeByte)
        /// An integer, length or count is not a valid signed 64-bit decimal.
        public static let invalidInteger = Code(.invalidInteger)
        /// A length or count is negative (other than the RESP2 null `-1`).
        public static let invalidLength = Code(.invalidLength)
        /// A value is not terminated by `\r\n` where one is required.
        public static let missingCRLF = Code(.missingCRLF)
        /// A RESP3 double is not a decimal, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Code(.invalidDouble)
        /// A RESP3 boolean is neither `t` nor `f`.
        public static let invalidBoolean = Code(.invalidBoolean)
        /// A RESP3 big number contains something other than an optional sign and digits.
        public static let invalidBigNumber = Code(.invalidBigNumber)
        /// A verbatim string is shorter than its `xxx:` format prefix.
        public static let invalidVerbatim = Code(.invalidVerbatim)
        /// A bulk string, bulk error or verbatim string is longer than ``RESPLimits/maxBulkLength``.
        public static let bulkLengthLimitExceeded = Code(.bulkLengthLimitExceeded)
        /// An aggregate announces more elements than ``RESPLimits/maxAggregateCount``.
        public static let aggregateCountLimitExceeded = Code(.aggregateCountLimitExceeded)
        /// Aggregates are nested deeper than ``RESPLimits/maxDepth``.
        public static let depthLimitExceeded = Code(.depthLimitExceeded)
        /// One reply would need more than ``RESPLimits/maxReplyBytes`` bytes.
        public static let replyBytesLimitExceeded = Code(.replyBytesLimitExceeded)
        /// A simple string, error or number line is longer than ``RESPLimits/maxLineLength``.
        public static let lineLengthLimitExceeded = Code(.lineLengthLimitExceeded)
        /// A RESP3 streamed string or aggregate (`$?`, `*?`), which Redis never sends.
        public static let unsupportedStreamedType = Code(.unsupportedStreamedType)

        /// A stable snake_case name, suitable for logs and metric dimensions.
        public var description: String {
            switch base {
            case .invalidTypeByte: "invalid_type_byte"
            case .invalidInteger: "invalid_integer"
            case .invalidLength: "invalid_length"
            case .missingCRLF: "missing_crlf"
            case .invalidDouble: "invalid_double"
            case .invalidBoolean: "invalid_boolean"
            case .invalidBigNumber: "invalid_big_number"
            case .invalidVerbatim: "invalid_verbatim"
            case .bulkLengthLimitExceeded: "bulk_length_limit_exceeded"
            case .aggregateCountLimitExceeded: "aggregate_count_limit_exceeded"
            case .depthLimitExceeded: "depth_limit_exceeded"
            case .replyBytesLimitExceeded: "reply_bytes_limit_exceeded"
            case .lineLengthLimitExceeded: "line_length_limit_exceeded"
            case .unsupportedStreamedType: "unsupported_streamed_type"
            }
        }
    }

    /// What was wrong.
    public var code: Code
    /// Offset of the offending byte from the start of the reply being decoded.
    public var offset: Int

    /// Creates a parse error.
    public init(code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// The code and offset; never the reply's bytes.
    public var description: String { "RESP parse error \(code) at reply offset \(offset)" }
}

/// Bounds on everything a decoder reads from the network.
///
/// A server (or anything pretending to be one) controls every length and count on the wire. The
/// decoder never allocates based on an announced length: it waits for the bytes to arrive and
/// rejects announcements that exceed these limits at once, so `*4294967295\r\n` or
/// `$9999999999\r\n` fails immediately instead of waiting for gigabytes.
public struct RESPLimits: Hashable, Sendable {
    /// Longest bulk string, bulk error or verbatim string. Default 512 MiB, Redis's own
    /// `proto-max-bulk-len` default.
    public var maxBulkLength: Int
    /// Most elements one array, set or push may announce (a map counts its pairs twice).
    /// Default 16 Mi.
    public var maxAggregateCount: Int
    /// Deepest nesting of aggregates. Default 64; Redis replies rarely nest beyond 4.
    public var maxDepth: Int
    /// Most bytes a single top-level reply may occupy. Default 1 GiB.
    public var maxReplyBytes: Int
    /// Longest simple string, simple error, integer, double or big number line. Default 64 KiB.
    public var maxLineLength: Int

    /// Creates limits; every argument defaults to the safe default named on its property.
    public init(
        maxBulkLength: Int = 512 << 20,
        maxAggregateCount: Int = 1 << 24,
        maxDepth: Int = 64,
        maxReplyBytes: Int = 1 << 30,
        maxLineLength: Int = 64 << 10
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxAggregateCount = maxAggregateCount
        self.maxDepth = maxDepth
        self.maxReplyBytes = maxReplyBytes
        self.maxLineLength = maxLineLength
    }

    /// The defaults: safe for a client talking to a Redis server it does not fully trust.
    public static let `default` = RESPLimits()
}
