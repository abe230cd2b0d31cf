import Strata
import Testing

/// A reproducible generator (xorshift64*), so a failing random input can be replayed from its seed.
struct XorshiftGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

func sampleEnvelope(payload: [UInt8] = Array("{\"id\":42,\"name\":\"Ada\"}".utf8)) -> CacheEnvelope {
    CacheEnvelope(
        codecID: CacheCodecID.json, flags: [], createdAt: CacheInstant(millisecondsSinceEpoch: 1_700_000_000_000),
        freshUntil: CacheInstant(millisecondsSinceEpoch: 1_700_000_060_000),
        staleUntil: CacheInstant(millisecondsSinceEpoch: 1_700_003_600_000), recomputeTime: .milliseconds(37),
        dataVersion: 981, tagEpochs: [.init(tag: "user:42", epoch: 7), .init(tag: "tenant:é", epoch: -1)],
        payload: payload
    )
}

@Suite struct EnvelopeTests {
    @Test func roundTripPreservesEveryField() throws {
        let envelope = sampleEnvelope()
        let decoded = try CacheEnvelope(decoding: envelope.encoded())
        #expect(decoded == envelope)
        #expect(decoded.recomputeTime == .milliseconds(37))
        #expect(decoded.dataVersion == 981)
        #expect(decoded.tagEpochs.map(\.tag) == ["user:42", "tenant:é"])
    }

    @Test func negativeEntryWithoutOptionalFieldsRoundTrips() throws {
        let envelope = CacheEnvelope(
            codecID: 200, flags: [.negative], createdAt: .distantPast, freshUntil: .distantFuture,
            staleUntil: CacheInstant(millisecondsSinceEpoch: -5), payload: []
        )
        let bytes = envelope.encoded()
        let decoded = try CacheEnvelope(decoding: bytes)
        #expect(decoded == envelope)
        #expect(decoded.isNegative && !decoded.isCompressed && decoded.dataVersion == nil)
        // Magic, version, codec, flags, three instants, Δ, tag count, payload length.
        #expect(bytes.count == 4 + 1 + 1 + 1 + 24 + 4 + 1 + 1)
    }

    @Test func recomputeTimeIsClampedToThirtyTwoBits() {
        let long = CacheEnvelope(
            codecID: 0, createdAt: .distantPast, freshUntil: .distantPast, staleUntil: .distantPast,
            recomputeTime: .seconds(10_000_000), payload: [])
        let negative = CacheEnvelope(
            codecID: 0, createdAt: .distantPast, freshUntil: .distantPast, staleUntil: .distantPast,
            recomputeTime: .seconds(-1), payload: [])
        #expect(long.recomputeMilliseconds == UInt32.max)
        #expect(negative.recomputeMilliseconds == 0)
    }

    @Test func decodesFromNonContiguousCollections() throws {
        let envelope = sampleEnvelope()
        let bytes = envelope.encoded()
        #expect(try CacheEnvelope(decoding: bytes.lazy.map { $0 }) == envelope)
        #expect(try CacheEnvelope(decoding: bytes[...]) == envelope)
    }

    @Test func everyTruncationFailsCleanly() {
        let bytes = sampleEnvelope().encoded()
        for length in 0..<bytes.count {
            #expect(throws: CacheEnvelopeError.self, "prefix of \(length) bytes") {
                try CacheEnvelope(decoding: bytes.prefix(length))
            }
        }
    }

    @Test func foreignBytesAreRejectedByTheirHeader() {
        var bytes = sampleEnvelope().encoded()
        #expect(code(Array("{\"json\":true}".utf8)) == .badMagic)
        bytes[4] = 2
        #expect(code(bytes) == .unsupportedVersion)
        bytes[4] = CacheEnvelope.formatVersion
        bytes[6] |= 0x80
        #expect(code(bytes) == .unsupportedFlags)
        bytes[6] &= 0x7F
        #expect(code(bytes + [0]) == .trailingBytes)
    }

    @Test func oversizedAnnouncementsAreRejectedBeforeReading() throws {
        let limits = CacheEnvelope.Limits(maximumPayloadBytes: 1000, maximumTagCount: 4, maximumTagBytes: 16)
        let header = Array(sampleEnvelope().encoded().prefix(43))  // through the data version
        // A payload announced at 4 GiB with 3 bytes present.
        #expect(code(header + [0] + varint(1 << 32) + [1, 2, 3], limits) == .payloadTooLarge)
        // Within the limit but longer than what is there.
        #expect(code(header + [0] + varint(900) + [1, 2, 3], limits) == .truncated)
        #expect(code(header + varint(5) + [1, 0x61] + Array(repeating: 0, count: 8) + [0], limits) == .tooManyTags)
        // Four tags allowed, but the bytes cannot hold four.
        #expect(code(header + varint(4) + [1, 0x61] + Array(repeating: 0, count: 8) + [0], limits) == .truncated)
        #expect(code(header + [1] + varint(17) + Array(repeating: 0x61, count: 17) + Array(repeating: 0, count: 8) + [0], limits) == .tagTooLong)
        #expect(code(header + [1, 2, 0xC3, 0x28] + Array(repeating: 0, count: 8) + [0], limits) == .invalidTag)
        #expect(code(header + [0] + Array(repeating: 0xFF, count: 11), limits) == .malformedLength)
    }

    @Test func errorDescriptionsNeverShowContent() {
        var bytes = sampleEnvelope(payload: Array("secret-value".utf8)).encoded()
        bytes.append(0)
        do {
            _ = try CacheEnvelope(decoding: bytes)
            Issue.record("trailing byte accepted")
        } catch {
            #expect(!error.description.contains("secret") && !error.description.contains("user:42"))
            #expect(error.description.contains("trailing_bytes"))
        }
    }

    @Test func randomAndMutatedBytesNeverCrash() throws {
        var random = XorshiftGenerator(seed: 0x5EED)
        let valid = sampleEnvelope().encoded()
        var decodedCount = 0
        for iteration in 0..<100_000 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0:  // pure noise
                bytes = (0..<Int.random(in: 0...96, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:  // a valid header followed by noise, to get past the magic
                bytes = Array(valid.prefix(Int.random(in: 0...valid.count, using: &random)))
                bytes += (0..<Int.random(in: 0...48, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            default:  // a valid envelope with a few bytes flipped
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            if let envelope = try? CacheEnvelope(decoding: bytes) {
                decodedCount += 1
                #expect(try CacheEnvelope(decoding: envelope.encoded()) == envelope)
            }
        }
        // Flipped payload or timestamp bytes still decode; the run must have reached that far.
        #expect(decodedCount > 1000)
    }

    private func code(_ bytes: [UInt8], _ limits: CacheEnvelope.Limits = .init()) -> CacheEnvelopeError.Code? {
        do {
            _ = try CacheEnvelope(decoding: bytes, limits: limits)
            return nil
        } catch {
            return error.code
        }
    }

    private func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}
