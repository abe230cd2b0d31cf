import Strata
import Testing

@Suite struct CompressionTests {
    private let repetitive = Array(String(repeating: "{\"id\":1,\"name\":\"Ada\",\"tags\":[\"a\",\"b\"]},", count: 200).utf8)

    @Test func compressesLargeValuesAndRestoresThem() throws {
        let compression = CacheCompression(thresholdBytes: 1024, level: 3)
        let compressed = try #require(compression.compress(repetitive))
        #expect(compressed.count * 10 < repetitive.count)
        #expect(try compression.decompress(compressed) == repetitive)
    }

    @Test func leavesSmallOrIncompressibleValuesAlone() {
        let compression = CacheCompression(thresholdBytes: 1024)
        #expect(compression.compress(Array(repetitive.prefix(1023))) == nil)
        var random = XorshiftGenerator(seed: 99)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        #expect(compression.compress(noise) == nil)
        #expect(CacheCompression.disabled.compress(repetitive) == nil)
    }

    @Test func refusesAnnouncedSizesOverTheMaximumBeforeInflating() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = try #require(CacheCompression().compress(zeros))
        #expect(compressed.count < 8192)
        let strict = CacheCompression(maximumDecompressedBytes: 64 << 10)
        #expect(codeOf { try strict.decompress(compressed) } == .decompressedTooLarge)
    }

    @Test func aStreamLyingAboutItsSizeIsCorrupt() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var compressed = try #require(CacheCompression().compress(zeros))
        // Replace the 3-byte size prefix (1 MiB) with a small announced size: inflating must stop
        // at that size instead of expanding the whole megabyte.
        #expect(compressed.prefix(3) == [0x80, 0x80, 0x40])
        compressed.replaceSubrange(0..<3, with: [0xE8, 0x07])  // 1000
        #expect(codeOf { try CacheCompression().decompress(compressed) } == .corruptCompressedData)
    }

    @Test func damagedStreamsAreCorrupt() throws {
        let compression = CacheCompression()
        let compressed = try #require(compression.compress(repetitive))
        var flipped = compressed
        flipped[compressed.count / 2] ^= 0xFF
        #expect(codeOf { try compression.decompress(flipped) } == .corruptCompressedData)
        #expect(codeOf { try compression.decompress(Array(compressed.dropLast(4))) } == .corruptCompressedData)
        #expect(codeOf { try compression.decompress(compressed + [0]) } == .corruptCompressedData)
        #expect(codeOf { try compression.decompress([]) } == .truncated)
        #expect(codeOf { try compression.decompress([0]) } == .corruptCompressedData)
    }

    @Test func envelopeCarriesTheCompressedFlag() throws {
        let compression = CacheCompression(thresholdBytes: 512)
        var envelope = sampleEnvelope(payload: repetitive)
        envelope.compressPayload(using: compression)
        #expect(envelope.isCompressed)
        #expect(envelope.payload.count < repetitive.count)
        let decoded = try CacheEnvelope(decoding: envelope.encoded())
        #expect(decoded.isCompressed)
        #expect(try decoded.decodedPayload(using: compression) == repetitive)

        var small = sampleEnvelope()
        small.compressPayload(using: compression)
        #expect(!small.isCompressed)
        #expect(try small.decodedPayload(using: compression) == sampleEnvelope().payload)
    }

    @Test func validationRejectsOutOfRangeSettings() {
        #expect(throws: CacheCodecError.self) { try CacheCompression(level: 0).validate() }
        #expect(throws: CacheCodecError.self) { try CacheCompression(level: 10).validate() }
        #expect(throws: CacheCodecError.self) { try CacheCompression(thresholdBytes: 0).validate() }
        #expect(throws: Never.self) { try CacheCompression().validate() }
        #expect(throws: Never.self) { try CacheCompression.disabled.validate() }
    }

    private func codeOf(_ body: () throws -> [UInt8]) -> CacheCodecError.Code? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? CacheCodecError)?.code
        }
    }
}
