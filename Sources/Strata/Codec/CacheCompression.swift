import CZlib

/// When and how payloads are compressed before they are stored in the distributed tier.
///
/// Payloads of at least ``thresholdBytes`` are compressed with zlib at ``level`` and kept
/// compressed only when that makes them smaller. A compressed payload records its original size
/// up front, so decompression allocates exactly that size, refuses sizes above
/// ``maximumDecompressedBytes`` before inflating anything, and fails when the stream does not
/// expand to exactly that size: a small hostile payload cannot make a reader allocate or inflate
/// more than the maximum ("zip bomb").
///
/// Compressed payload layout: a varint of the uncompressed length, then a zlib stream (RFC 1950,
/// with its Adler-32 check).
public struct CacheCompression: Sendable, Hashable {
    /// Payloads smaller than this are stored as they are (default 1 KiB).
    public var thresholdBytes: Int
    /// zlib level, 1 (fastest) to 9 (smallest); default 3.
    public var level: Int
    /// The largest decompressed payload accepted (default 16 MiB).
    public var maximumDecompressedBytes: Int

    /// Creates a compression policy; check it with ``validate()``.
    public init(thresholdBytes: Int = 1024, level: Int = 3, maximumDecompressedBytes: Int = 16 << 20) {
        self.thresholdBytes = thresholdBytes
        self.level = level
        self.maximumDecompressedBytes = maximumDecompressedBytes
    }

    /// Never compresses (still decompresses entries written with compression).
    public static let disabled = CacheCompression(thresholdBytes: .max)

    /// Rejects a level outside 1...9 and non-positive sizes.
    public func validate() throws(CacheCodecError) {
        guard (1...9).contains(level), thresholdBytes > 0, maximumDecompressedBytes > 0 else {
            throw CacheCodecError(.invalidConfiguration)
        }
    }

    /// The compressed form of `bytes`, or nil when they are under the threshold, compression
    /// would not make them smaller, or zlib fails (the caller then stores them uncompressed).
    ///
    /// - Complexity: O(n); one allocation of zlib's worst-case bound, trimmed.
    public func compress(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= thresholdBytes, bytes.count <= maximumDecompressedBytes, (1...9).contains(level) else {
            return nil
        }
        let prefix = ByteWriter.varintSize(UInt64(bytes.count))
        let bound = Int(compressBound(uLong(bytes.count)))
        var output = [UInt8](repeating: 0, count: prefix + bound)
        var written = uLongf(bound)
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress! + prefix, &written, input.baseAddress, uLong(input.count), Int32(level))
            }
        }
        guard status == Z_OK, prefix + Int(written) < bytes.count else { return nil }
        var header = ByteWriter(capacity: prefix)
        header.append(varint: UInt64(bytes.count))
        output.replaceSubrange(0..<prefix, with: header.bytes)
        output.removeLast(bound - Int(written))
        return output
    }

    /// The original bytes of a payload produced by ``compress(_:)``.
    ///
    /// - Throws: ``CacheCodecError``: `decompressedTooLarge` when the announced size exceeds
    ///   ``maximumDecompressedBytes`` (nothing is allocated or inflated); `corruptCompressedData`
    ///   when the stream is damaged, fails its checksum, or does not expand to exactly the
    ///   announced size; `truncated`/`malformedLength` for a damaged size prefix.
    public func decompress(_ bytes: [UInt8]) throws(CacheCodecError) -> [UInt8] {
        let limit = maximumDecompressedBytes
        return try bytes.withUnsafeBytes { buffer in
            Result { () throws(CacheCodecError) in try Self.inflate(buffer, limit: limit) }
        }.get()
    }

    private static func inflate(_ buffer: UnsafeRawBufferPointer, limit: Int) throws(CacheCodecError) -> [UInt8] {
        var reader = ByteReader<CacheCodecError>(buffer)
        guard let size = try reader.readLength(atMost: limit) else {
            throw CacheCodecError(.decompressedTooLarge, offset: 0)
        }
        let stream = try reader.readSlice(count: reader.remaining)
        guard size > 0 else {
            throw CacheCodecError(.corruptCompressedData, offset: reader.offset)
        }
        var output = [UInt8](repeating: 0, count: size)
        var produced = uLongf(size)
        var consumed = uLong(stream.count)
        let status = output.withUnsafeMutableBufferPointer { out in
            uncompress2(out.baseAddress, &produced, stream.baseAddress?.assumingMemoryBound(to: Bytef.self), &consumed)
        }
        guard status == Z_OK, Int(produced) == size, Int(consumed) == stream.count else {
            throw CacheCodecError(.corruptCompressedData, offset: buffer.count - stream.count)
        }
        return output
    }
}

extension CacheEnvelope {
    /// Compresses ``payload`` in place and sets ``Flags-swift.struct/compressed`` when
    /// `compression` says it is worth it; otherwise leaves the envelope unchanged.
    public mutating func compressPayload(using compression: CacheCompression) {
        guard !isCompressed, let compressed = compression.compress(payload) else { return }
        payload = compressed
        flags.insert(.compressed)
    }

    /// The payload as the codec wrote it: decompressed (within `compression`'s maximum) when
    /// the entry is compressed, as stored otherwise.
    public func decodedPayload(using compression: CacheCompression) throws(CacheCodecError) -> [UInt8] {
        isCompressed ? try compression.decompress(payload) : payload
    }
}
