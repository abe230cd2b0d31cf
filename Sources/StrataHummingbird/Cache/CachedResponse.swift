public import Strata

/// A whole response as Strata stores it: status, the headers worth replaying, the body, and
/// what the middleware needs to answer from it (when it was stored, its entity tag, its tags).
public struct CachedResponse: Sendable, Hashable {
    /// Identifies one fill, so the request that filled an entry can tell its own fill (a miss)
    /// from another's (a hit).
    public var fillID: UInt64
    /// The status code.
    public var status: Int
    /// End-to-end header fields in order, as (name, value) pairs.
    public var headers: [HeaderField]
    /// The body bytes.
    public var body: [UInt8]
    /// When the response was stored, in milliseconds since the epoch (the cache clock's).
    public var storedAt: Int64
    /// The strong entity tag of the body.
    public var entityTag: String
    /// The tags (surrogate keys) the response was indexed under.
    public var tags: [String]

    /// One header field.
    public struct HeaderField: Sendable, Hashable {
        /// The field name as sent.
        public var name: String
        /// The field value.
        public var value: String

        /// Creates a field.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a stored response.
    public init(
        fillID: UInt64, status: Int, headers: [HeaderField], body: [UInt8], storedAt: Int64, entityTag: String, tags: [String]
    ) {
        self.fillID = fillID
        self.status = status
        self.headers = headers
        self.body = body
        self.storedAt = storedAt
        self.entityTag = entityTag
        self.tags = tags
    }

    /// The age of the stored response at `now`, in whole seconds (never negative).
    func age(at now: CacheInstant) -> Int {
        max(0, Int((now.millisecondsSinceEpoch - storedAt) / 1000))
    }
}

/// A compact binary codec for ``CachedResponse``: the body is stored as raw bytes, not as an
/// array of numbers, and every length is checked against the remaining input before it is used.
///
/// Codec id 16 (Strata's range); format version 1.
public struct CachedResponseCodec: CacheCodec {
    /// Creates the codec.
    public init() {}

    /// The codec's identifier in Strata envelopes.
    public var id: UInt8 { 16 }

    private static let formatVersion: UInt8 = 1

    /// The response's bytes.
    public func encode(_ value: CachedResponse) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(value.body.count + 64 + value.headers.count * 32)
        output.append(Self.formatVersion)
        append(value.fillID, to: &output)
        append(UInt64(bitPattern: value.storedAt), to: &output)
        append(UInt64(UInt16(clamping: value.status)), to: &output)
        append(UInt64(value.headers.count), to: &output)
        for field in value.headers {
            append(Array(field.name.utf8), to: &output)
            append(Array(field.value.utf8), to: &output)
        }
        append(UInt64(value.tags.count), to: &output)
        for tag in value.tags { append(Array(tag.utf8), to: &output) }
        append(Array(value.entityTag.utf8), to: &output)
        append(value.body, to: &output)
        return output
    }

    /// The response in `bytes`; truncated, oversized or trailing input is an error.
    public func decode(_ bytes: [UInt8]) throws(CacheCodecError) -> CachedResponse {
        var reader = Reader(bytes: bytes)
        guard try reader.byte() == Self.formatVersion else { throw CacheCodecError(.decodingFailed) }
        let fillID = try reader.varint()
        let storedAt = Int64(bitPattern: try reader.varint())
        let status = Int(try reader.varint())
        let headerCount = try reader.count()
        var headers: [CachedResponse.HeaderField] = []
        for _ in 0..<headerCount {
            headers.append(.init(name: try reader.string(), value: try reader.string()))
        }
        let tagCount = try reader.count()
        var tags: [String] = []
        for _ in 0..<tagCount { tags.append(try reader.string()) }
        let entityTag = try reader.string()
        let body = try reader.bytes()
        guard reader.atEnd, (100..<600).contains(status) else { throw CacheCodecError(.decodingFailed) }
        return CachedResponse(
            fillID: fillID, status: status, headers: headers, body: body, storedAt: storedAt, entityTag: entityTag, tags: tags)
    }

    private func append(_ value: UInt64, to output: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    private func append(_ bytes: [UInt8], to output: inout [UInt8]) {
        append(UInt64(bytes.count), to: &output)
        output.append(contentsOf: bytes)
    }

    private struct Reader {
        let input: [UInt8]
        var offset = 0

        init(bytes: [UInt8]) { self.input = bytes }

        var atEnd: Bool { offset == input.count }

        mutating func byte() throws(CacheCodecError) -> UInt8 {
            guard offset < input.count else { throw CacheCodecError(.decodingFailed) }
            defer { offset += 1 }
            return input[offset]
        }

        mutating func varint() throws(CacheCodecError) -> UInt64 {
            var result: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                let byte = try byte()
                result |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return result }
            }
            throw CacheCodecError(.decodingFailed)
        }

        /// A count or length, which can never exceed the bytes left (each item takes at least one).
        mutating func count() throws(CacheCodecError) -> Int {
            let value = try varint()
            guard value <= UInt64(input.count - offset) else { throw CacheCodecError(.decodingFailed) }
            return Int(value)
        }

        mutating func bytes() throws(CacheCodecError) -> [UInt8] {
            let length = try count()
            defer { offset += length }
            return Array(input[offset..<offset + length])
        }

        mutating func string() throws(CacheCodecError) -> String {
            let raw = try bytes()
            guard let string = String(validating: raw, as: UTF8.self) else { throw CacheCodecError(.invalidUTF8) }
            return string
        }
    }
}
