/// One cache entry as stored in the distributed tier: timing metadata plus the encoded value.
///
/// The envelope is what makes an L2 value safe to share between instances and versions: it says
/// how the payload was encoded (``codecID``, ``Flags-swift.struct/compressed``), when the value
/// stops being fresh and when even a stale copy must no longer be served, how long the last
/// recompute took (for early refresh), the source's data version, and the tag epochs seen at fill
/// time. See `docs/architecture.md` ("Envelope and codecs") for the byte layout.
///
/// Decoding (``init(decoding:limits:)``) checks every announced size against ``Limits`` and the
/// bytes actually present *before* reading or allocating, so hostile or corrupted bytes fail
/// with a ``CacheEnvelopeError``, never a crash or an oversized allocation.
public struct CacheEnvelope: Sendable, Hashable {
    /// The four bytes every envelope starts with. The first is not ASCII, so neither text nor
    /// JSON written by something else under the same key can pass for an envelope.
    public static let magic: [UInt8] = [0x89, 0x53, 0x54, 0x52]

    /// The format version this build writes and reads.
    public static let formatVersion: UInt8 = 1

    /// Boolean properties of an entry, stored in one byte.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        /// Creates flags from their stored byte.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The payload is zlib-compressed (see ``CacheCompression``).
        public static let compressed = Flags(rawValue: 1 << 0)
        /// A cached "not found": the source of truth had no value; the payload is empty.
        public static let negative = Flags(rawValue: 1 << 1)

        /// Set on the wire when a data version follows; derived from ``CacheEnvelope/dataVersion``.
        static let hasDataVersion = Flags(rawValue: 1 << 2)
        /// Every bit this build understands on the wire.
        static let known: Flags = [.compressed, .negative, .hasDataVersion]
    }

    /// The invalidation epoch of one tag, as read from Redis when the entry was filled.
    public struct TagEpoch: Sendable, Hashable {
        /// The tag's name.
        public var tag: String
        /// The tag's epoch (a Redis `INCR` counter) at fill time.
        public var epoch: Int64

        /// Creates a tag epoch.
        public init(tag: String, epoch: Int64) {
            self.tag = tag
            self.epoch = epoch
        }
    }

    /// Upper bounds applied while decoding; anything larger is rejected before it is read.
    public struct Limits: Sendable, Hashable {
        /// The largest payload accepted, in bytes (default 16 MiB).
        public var maximumPayloadBytes: Int
        /// The most tags one entry may carry (default 64).
        public var maximumTagCount: Int
        /// The longest tag accepted, in UTF-8 bytes (default 256).
        public var maximumTagBytes: Int

        /// Creates limits; the defaults suit typical cache values.
        public init(maximumPayloadBytes: Int = 16 << 20, maximumTagCount: Int = 64, maximumTagBytes: Int = 256) {
            self.maximumPayloadBytes = maximumPayloadBytes
            self.maximumTagCount = maximumTagCount
            self.maximumTagBytes = maximumTagBytes
        }
    }

    /// Which ``CacheCodec`` encoded the payload.
    public var codecID: UInt8
    /// Compressed and negative-entry flags.
    public var flags: Flags
    /// When the value was computed.
    public var createdAt: CacheInstant
    /// Until when the value is fresh; after it, a read triggers a refresh.
    public var freshUntil: CacheInstant
    /// Until when a stale copy may still be served (while refreshing or when the loader fails).
    public var staleUntil: CacheInstant
    /// How long the last recompute took, in milliseconds (the Δ of early refresh).
    public var recomputeMilliseconds: UInt32
    /// The source of truth's version of the value, when it has one.
    public var dataVersion: Int64?
    /// The tag epochs seen when the entry was filled; the entry is stale once any tag moved on.
    public var tagEpochs: [TagEpoch]
    /// The encoded (possibly compressed) value; empty for a negative entry.
    public var payload: [UInt8]

    /// Creates an envelope.
    ///
    /// - Parameter recomputeTime: clamped to `0...UInt32.max` milliseconds.
    public init(
        codecID: UInt8, flags: Flags = [], createdAt: CacheInstant, freshUntil: CacheInstant, staleUntil: CacheInstant,
        recomputeTime: Duration = .zero, dataVersion: Int64? = nil, tagEpochs: [TagEpoch] = [], payload: [UInt8]
    ) {
        self.codecID = codecID
        self.flags = flags.intersection([.compressed, .negative])
        self.createdAt = createdAt
        self.freshUntil = freshUntil
        self.staleUntil = staleUntil
        self.recomputeMilliseconds = UInt32(clamping: recomputeTime.cacheMilliseconds)
        self.dataVersion = dataVersion
        self.tagEpochs = tagEpochs
        self.payload = payload
    }

    /// The measured recompute time as a duration.
    public var recomputeTime: Duration { .milliseconds(Int64(recomputeMilliseconds)) }

    /// Whether this entry caches the absence of a value.
    public var isNegative: Bool { flags.contains(.negative) }

    /// Whether ``payload`` is compressed.
    public var isCompressed: Bool { flags.contains(.compressed) }
}

// MARK: - Wire format

extension CacheEnvelope {
    /// Bytes before the optional data version: magic, version, codec, flags, three instants, Δ.
    static let fixedHeaderSize = 4 + 1 + 1 + 1 + 8 + 8 + 8 + 4

    /// The envelope's bytes, as stored in the distributed tier.
    ///
    /// Never fails: lengths are varints, so any payload or tag fits. Decoding applies the limits.
    /// - Complexity: O(payload + tags); one allocation of exactly the encoded size.
    public func encoded() -> [UInt8] {
        var size = Self.fixedHeaderSize + (dataVersion == nil ? 0 : 8)
        size += ByteWriter.varintSize(UInt64(tagEpochs.count))
        for tag in tagEpochs {
            let length = tag.tag.utf8.count
            size += ByteWriter.varintSize(UInt64(length)) + length + 8
        }
        size += ByteWriter.varintSize(UInt64(payload.count)) + payload.count

        var writer = ByteWriter(capacity: size)
        writer.append(contentsOf: Self.magic)
        writer.append(Self.formatVersion)
        writer.append(codecID)
        var wireFlags = flags.intersection([.compressed, .negative])
        if dataVersion != nil { wireFlags.insert(.hasDataVersion) }
        writer.append(wireFlags.rawValue)
        writer.append(fixed: createdAt.millisecondsSinceEpoch)
        writer.append(fixed: freshUntil.millisecondsSinceEpoch)
        writer.append(fixed: staleUntil.millisecondsSinceEpoch)
        writer.append(fixed: recomputeMilliseconds)
        if let dataVersion { writer.append(fixed: dataVersion) }
        writer.append(varint: UInt64(tagEpochs.count))
        for tag in tagEpochs {
            writer.append(lengthPrefixed: tag.tag)
            writer.append(fixed: tag.epoch)
        }
        writer.append(varint: UInt64(payload.count))
        writer.append(contentsOf: payload)
        return writer.bytes
    }

    /// Decodes an envelope, checking every size before reading it.
    ///
    /// Rejects: other magic, other format versions, unknown flag bits, payloads, tag counts or tag
    /// lengths over `limits`, lengths running past the end, and bytes after the payload.
    /// - Complexity: O(bytes); allocates the payload copy and, when there are tags, their array.
    public init(decoding bytes: some Collection<UInt8>, limits: Limits = Limits()) throws(CacheEnvelopeError) {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(CacheEnvelopeError) in try Self.decode(UnsafeRawBufferPointer(buffer), limits: limits) }
        }
        if let contiguous {
            self = try contiguous.get()
        } else {
            self = try Array(bytes).withUnsafeBytes { buffer in
                Result { () throws(CacheEnvelopeError) in try Self.decode(buffer, limits: limits) }
            }.get()
        }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, limits: Limits) throws(CacheEnvelopeError) -> CacheEnvelope {
        var reader = ByteReader<CacheEnvelopeError>(bytes)
        for expected in magic where try reader.readByte() != expected {
            throw CacheEnvelopeError(.badMagic, offset: 0)
        }
        guard try reader.readByte() == formatVersion else {
            throw CacheEnvelopeError(.unsupportedVersion, offset: reader.offset - 1)
        }
        let codecID = try reader.readByte()
        let wireFlags = Flags(rawValue: try reader.readByte())
        guard Flags.known.isSuperset(of: wireFlags) else {
            throw CacheEnvelopeError(.unsupportedFlags, offset: reader.offset - 1)
        }
        let createdAt = try reader.readInt64()
        let freshUntil = try reader.readInt64()
        let staleUntil = try reader.readInt64()
        let recompute = try reader.readUInt32()
        let dataVersion = wireFlags.contains(.hasDataVersion) ? try reader.readInt64() : nil

        // Each tag takes at least 1 (length) + 8 (epoch) bytes: a count the remaining bytes
        // cannot hold is rejected before anything is reserved for it.
        let tagCountOffset = reader.offset
        guard let tagCount = try reader.readLength(atMost: limits.maximumTagCount) else {
            throw CacheEnvelopeError(.tooManyTags, offset: tagCountOffset)
        }
        guard tagCount <= reader.remaining / 9 else { throw CacheEnvelopeError(.truncated, offset: tagCountOffset) }
        var tags: [TagEpoch] = []
        if tagCount > 0 {
            tags.reserveCapacity(tagCount)
            for _ in 0..<tagCount {
                let lengthOffset = reader.offset
                guard let length = try reader.readLength(atMost: limits.maximumTagBytes) else {
                    throw CacheEnvelopeError(.tagTooLong, offset: lengthOffset)
                }
                guard let tag = try reader.readString(count: length) else {
                    throw CacheEnvelopeError(.invalidTag, offset: reader.offset)
                }
                tags.append(TagEpoch(tag: tag, epoch: try reader.readInt64()))
            }
        }

        let payloadOffset = reader.offset
        guard let payloadLength = try reader.readLength(atMost: limits.maximumPayloadBytes) else {
            throw CacheEnvelopeError(.payloadTooLarge, offset: payloadOffset)
        }
        guard payloadLength <= reader.remaining else { throw CacheEnvelopeError(.truncated, offset: reader.offset) }
        guard payloadLength == reader.remaining else {
            throw CacheEnvelopeError(.trailingBytes, offset: reader.offset + payloadLength)
        }
        let payload = [UInt8](try reader.readSlice(count: payloadLength))

        var envelope = CacheEnvelope(
            codecID: codecID, flags: wireFlags, createdAt: CacheInstant(millisecondsSinceEpoch: createdAt),
            freshUntil: CacheInstant(millisecondsSinceEpoch: freshUntil),
            staleUntil: CacheInstant(millisecondsSinceEpoch: staleUntil), dataVersion: dataVersion, tagEpochs: tags,
            payload: payload
        )
        envelope.recomputeMilliseconds = recompute
        return envelope
    }
}
