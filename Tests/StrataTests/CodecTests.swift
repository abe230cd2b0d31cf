import Strata
import Testing

struct Address: Codable, Hashable {
    var street: String
    var postcode: String?
}

enum Role: Codable, Hashable {
    case anonymous
    case user(id: Int, admin: Bool)
    case bot(String)
}

enum Plan: String, Codable, Hashable {
    case free, pro
}

struct Profile: Codable, Hashable {
    var id: Int64
    var name: String
    var email: String?
    var nickname: String?
    var verified: Bool
    var score: Double
    var ratio: Float
    var tags: [String]
    var limits: [String: Int]
    var address: Address
    var roles: [Role]
    var plan: Plan
    var favourites: Set<Int>?
    var history: [[UInt8]]
    var optionals: [Int?]
    var byID: [Int: Address]
    var extremes: [Int64]
    var small: Int8
    var large: UInt64
}

func sampleProfile() -> Profile {
    Profile(
        id: 42, name: "Ada Lovelace", email: "ada@example.com", nickname: nil, verified: true, score: 97.25,
        ratio: 0.5, tags: ["math", "engines", ""], limits: ["daily": 100, "hourly": -5],
        address: Address(street: "St James's Square 12", postcode: nil),
        roles: [.anonymous, .user(id: 7, admin: true), .bot("indexer")], plan: .pro, favourites: [3, 1, 2],
        history: [[], [0, 255, 13, 10]], optionals: [1, nil, 3], byID: [1: Address(street: "x", postcode: "y")],
        extremes: [.min, -1, 0, 1, .max], small: -128, large: .max
    )
}

/// A value type that can nest as deep as a test wants.
indirect enum Chain: Codable, Hashable {
    case end
    case link(Chain)

    static func depth(_ depth: Int) -> Chain {
        (0..<depth).reduce(Chain.end) { chain, _ in .link(chain) }
    }
}

struct ThreeFields: Codable { var a: Int, b: Int, c: Int }
struct TwoFields: Codable { var a: Int, b: Int }
struct FourFields: Codable { var a: Int, b: Int, c: Int, d: Int }
struct Flag: Codable { var on: Bool }
struct Narrow: Codable { var value: Int8 }
struct Wide: Codable { var value: Int }

@Suite struct CodecTests {
    @Test func binaryCodecRoundTripsNestedStructsEnumsOptionalsAndCollections() throws {
        let codec = BinaryCacheCodec<Profile>()
        let profile = sampleProfile()
        #expect(try codec.decode(codec.encode(profile)) == profile)
    }

    @Test func jsonCodecRoundTripsTheSameValue() throws {
        let codec = JSONCacheCodec<Profile>()
        let profile = sampleProfile()
        #expect(try codec.decode(codec.encode(profile)) == profile)
    }

    @Test func binaryEncodingIsMuchSmallerThanJSON() throws {
        let profile = sampleProfile()
        let binary = try BinaryCacheCodec<Profile>().encode(profile)
        let json = try JSONCacheCodec<Profile>().encode(profile)
        #expect(binary.count * 2 < json.count)
    }

    @Test func binaryCodecHandlesTopLevelOptionalsScalarsAndDictionaries() throws {
        let optional = BinaryCacheCodec<Int?>()
        #expect(try optional.decode(optional.encode(nil)) == nil)
        #expect(try optional.decode(optional.encode(5)) == 5)
        #expect(try optional.encode(nil) == [0])
        let nested = BinaryCacheCodec<String??>()
        #expect(try nested.decode(nested.encode(.some(nil))) == .some(nil))
        let text = BinaryCacheCodec<String>()
        #expect(try text.encode("hé") == [3, 0x68, 0xC3, 0xA9])
        let dictionary = BinaryCacheCodec<[String: [Int]]>()
        let value = ["a": [1, 2], "": [], "long key": [Int.min]]
        #expect(try dictionary.decode(dictionary.encode(value)) == value)
        let small = BinaryCacheCodec<Int>()
        #expect(try small.encode(-1) == [1])
        #expect(try small.encode(63) == [126])
    }

    @Test func binaryCodecKeepsEnumCasesApart() throws {
        let codec = BinaryCacheCodec<[Role]>()
        let roles: [Role] = [.bot("x"), .anonymous, .user(id: -3, admin: false)]
        #expect(try codec.decode(codec.encode(roles)) == roles)
    }

    @Test func binaryCodecLimitsNestingDepth() throws {
        let shallow = BinaryCacheCodec<Chain>(maximumDepth: 16)
        #expect(try shallow.decode(shallow.encode(.depth(5))) == .depth(5))
        #expect(codecError { try shallow.encode(.depth(40)) } == .depthExceeded)
        let deep = BinaryCacheCodec<Chain>(maximumDepth: 200)
        let bytes = try deep.encode(.depth(40))
        #expect(codecError { try shallow.decode(bytes) } == .depthExceeded)
    }

    @Test func binaryCodecDetectsAddedAndRemovedProperties() throws {
        let bytes = try BinaryCacheCodec<ThreeFields>().encode(ThreeFields(a: 1, b: 2, c: 3))
        #expect(codecError { try BinaryCacheCodec<TwoFields>().decode(bytes) } == .decodingFailed)
        #expect(codecError { try BinaryCacheCodec<FourFields>().decode(bytes) } == .decodingFailed)
    }

    @Test func malformedBinaryInputFailsWithTypedErrors() throws {
        let codec = BinaryCacheCodec<Profile>()
        let bytes = try codec.encode(sampleProfile())
        #expect(codecError { try codec.decode(bytes + [0]) } == .trailingBytes)
        #expect(codecError { try BinaryCacheCodec<Flag>().decode([1, 2, 0x6F, 0x6E, 2]) } == .invalidMarker)
        let wide = try BinaryCacheCodec<Wide>().encode(Wide(value: 300))
        #expect(codecError { try BinaryCacheCodec<Narrow>().decode(wide) } == .valueOutOfRange)
        #expect(codecError { try BinaryCacheCodec<String>().decode([2, 0xC3, 0x28]) } == .invalidUTF8)
        // A string announcing far more bytes than there are.
        #expect(codecError { try BinaryCacheCodec<String>().decode([0xFF, 0xFF, 0xFF, 0x7F, 0x61]) } == .truncated)
        // An array announcing a billion elements in five bytes.
        #expect(codecError { try BinaryCacheCodec<[Int]>().decode([0x80, 0x94, 0xEB, 0xDC, 0x03]) } == .truncated)
        #expect(codecError { try BinaryCacheCodec<Int>().decode(Array(repeating: 0xFF, count: 11)) } == .malformedLength)
    }

    @Test func everyTruncationOfABinaryValueFails() throws {
        let codec = BinaryCacheCodec<Profile>()
        let bytes = try codec.encode(sampleProfile())
        for length in 0..<bytes.count {
            #expect(throws: CacheCodecError.self, "prefix of \(length) bytes") { try codec.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test func randomBytesNeverCrashTheBinaryDecoder() {
        var random = XorshiftGenerator(seed: 0xC0DEC)
        let codec = BinaryCacheCodec<Profile>()
        let valid = (try? codec.encode(sampleProfile())) ?? []
        for iteration in 0..<20_000 {
            var bytes = valid
            if iteration % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            _ = try? codec.decode(bytes)
        }
    }

    @Test func stringAndRawBytesCodecs() throws {
        #expect(try StringCacheCodec().decode(StringCacheCodec().encode("grüße")) == "grüße")
        #expect(codecError { try StringCacheCodec().decode([0xFF]) } == .invalidUTF8)
        #expect(RawBytesCacheCodec().decode(RawBytesCacheCodec().encode([0, 1, 255])) == [0, 1, 255])
        let ids: Set<UInt8> = [
            RawBytesCacheCodec().id, StringCacheCodec().id, JSONCacheCodec<Int>().id, BinaryCacheCodec<Int>().id,
        ]
        #expect(ids.count == 4)
    }

    @Test func malformedJSONIsADecodingFailureThatDoesNotQuoteTheInput() {
        do {
            _ = try JSONCacheCodec<Profile>().decode(Array("{\"id\": \"secret-token\"".utf8))
            Issue.record("malformed JSON decoded")
        } catch {
            #expect(error.code == .decodingFailed)
            #expect(!error.description.contains("secret"))
        }
    }

    private func codecError(_ body: () throws -> some Any) -> CacheCodecError.Code? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? CacheCodecError)?.code
        }
    }
}
