import NIOCore
import RESP
import Testing

/// A small deterministic generator (SplitMix64), so every run tests the same values.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random `RESPValue` trees using only values that RESP3 can represent: simple strings and
/// errors never hold CR or LF-after-CR, verbatim formats are three ASCII letters.
private struct ValueGenerator {
    var random: SeededGenerator

    private static let lineCharacters: [Character] = Array("abcXYZ019 :-+_.!?\n\té✓😀")
    private static let doubles: [Double] = [
        0, -0.0, 1.5, -2, 1e10, 1e-10, .pi, -1e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
        .infinity, -.infinity, .nan, 123_456_789.125,
    ]

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func line() -> String {
        String((0..<int(0...12)).map { _ in Self.lineCharacters.randomElement(using: &random)! })
    }

    mutating func bytes() -> ByteBuffer {
        let pool: [UInt8] = [0x00, 0x0D, 0x0A, 0xFF, 0x24, 0x2A, 0x61, 0x7A, 0x80]
        return ByteBuffer(bytes: (0..<int(0...20)).map { _ in pool.randomElement(using: &random)! })
    }

    mutating func double() -> Double {
        if int(0...1) == 0 { return Self.doubles.randomElement(using: &random)! }
        let candidate = Double(bitPattern: random.next())
        return candidate.isFinite ? candidate : 0.25
    }

    mutating func bigNumber() -> String {
        let sign = ["", "-", "+"].randomElement(using: &random)!
        return sign + String((0..<int(1...60)).map { _ in Character(String(int(0...9))) })
    }

    mutating func scalar() -> RESPValue {
        switch int(0...10) {
        case 0: return .simpleString(line())
        case 1: return .simpleError("ERR " + line())
        case 2: return .integer(int(0...3) == 0 ? [Int.min, Int.max, 0, -1].randomElement(using: &random)! : int(-1_000_000...1_000_000))
        case 3: return .bulkString(bytes())
        case 4: return .null
        case 5: return .boolean(int(0...1) == 1)
        case 6: return .double(double())
        case 7: return .bigNumber(bigNumber())
        case 8: return .bulkError(bytes())
        case 9:
            let format = String((0..<3).map { _ in Character(UnicodeScalar(UInt8(int(97...122)))) })
            return .verbatimString(format: format, line() + "\r\n" + line())
        default: return .bulkString(ByteBuffer(string: line()))
        }
    }

    mutating func elements(depth: Int) -> [RESPValue] {
        (0..<int(0...4)).map { _ in value(depth: depth + 1) }
    }

    mutating func pairs(depth: Int) -> [RESPValue.Pair] {
        (0..<int(0...3)).map { _ in RESPValue.Pair(value(depth: depth + 1), value(depth: depth + 1)) }
    }

    mutating func value(depth: Int = 0) -> RESPValue {
        guard depth < 4, int(0...2) == 0 else { return scalar() }
        switch int(0...5) {
        case 0: return .array(elements(depth: depth))
        case 1: return .set(elements(depth: depth))
        case 2: return .push(elements(depth: depth))
        case 3: return .map(pairs(depth: depth))
        case 4: return .attributed(attributes: pairs(depth: depth), value(depth: depth + 1))
        default: return .array(elements(depth: depth))
        }
    }
}

private func encoded(_ value: RESPValue) -> [UInt8] {
    var buffer = ByteBuffer()
    value.encode(into: &buffer)
    return Array(buffer.readableBytesView)
}

private func roundTrip(_ value: RESPValue) throws -> RESPValue {
    var decoder = RESPTokenDecoder()
    var buffer = ByteBuffer(bytes: encoded(value))
    let token = try #require(try decoder.decode(from: &buffer))
    #expect(buffer.readableBytes == 0, "encoding of \(value) left bytes over")
    return RESPValue(token)
}

@Suite("Encoding values and decoding them back")
struct RoundTripTests {
    @Test("every table value survives encode then decode", arguments: decodeCases)
    func tableValues(_ testCase: DecodeCase) throws {
        let decoded = try roundTrip(testCase.expected)
        #expect(equivalent(decoded, testCase.expected), "got \(decoded)")
    }

    @Test("generated nested values survive encode then decode")
    func generatedValues() throws {
        var generator = ValueGenerator(random: SeededGenerator(state: 0x5EED))
        for _ in 0..<2000 {
            let value = generator.value()
            let decoded = try roundTrip(value)
            #expect(equivalent(decoded, value), "encoded as \(String(decoding: encoded(value), as: UTF8.self))")
        }
    }

    @Test("generated values pipelined into one buffer decode in order, also byte at a time")
    func generatedPipeline() throws {
        var generator = ValueGenerator(random: SeededGenerator(state: 42))
        let values = (0..<200).map { _ in generator.value() }
        let bytes = values.flatMap(encoded)
        let whole = decodeAll(bytes)
        #expect(whole.error == nil && whole.leftover == 0)
        #expect(equivalent(whole.values, values))

        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        var run = DecodeRun()
        for byte in bytes {
            buffer.writeInteger(byte)
            drain(&buffer, with: &decoder, into: &run)
        }
        #expect(run.error == nil && run.leftover == 0)
        #expect(equivalent(run.values, values))
    }

    @Test("an attribute nested in an attribute keeps both attribute maps")
    func nestedAttributes() throws {
        let value = RESPValue.attributed(
            attributes: [RESPValue.Pair(.simpleString("outer"), .integer(1))],
            .attributed(attributes: [RESPValue.Pair(.simpleString("inner"), .integer(2))], .bulkString("v"))
        )
        #expect(try roundTrip(value) == value)
        let run = decodeAll(wire("|1\r\n+outer\r\n:1\r\n|1\r\n+inner\r\n:2\r\n$1\r\nv\r\n"))
        #expect(run.values == [value])
    }

    @Test("encoding writes the exact RESP3 bytes of each type")
    func exactEncoding() {
        #expect(encoded(.simpleString("OK")) == wire("+OK\r\n"))
        #expect(encoded(.simpleError("ERR x")) == wire("-ERR x\r\n"))
        #expect(encoded(.integer(.min)) == wire(":-9223372036854775808\r\n"))
        #expect(encoded(.bulkString("a\r\nb")) == wire("$4\r\na\r\nb\r\n"))
        #expect(encoded(.null) == wire("_\r\n"))
        #expect(encoded(.boolean(true)) == wire("#t\r\n"))
        #expect(encoded(.boolean(false)) == wire("#f\r\n"))
        #expect(encoded(.double(1.5)) == wire(",1.5\r\n"))
        #expect(encoded(.double(.infinity)) == wire(",inf\r\n"))
        #expect(encoded(.double(-.infinity)) == wire(",-inf\r\n"))
        #expect(encoded(.double(.nan)) == wire(",nan\r\n"))
        #expect(encoded(.bigNumber("123")) == wire("(123\r\n"))
        #expect(encoded(.bulkError(ByteBuffer(string: "ERR"))) == wire("!3\r\nERR\r\n"))
        #expect(encoded(.verbatimString(format: "txt", "hi")) == wire("=6\r\ntxt:hi\r\n"))
        #expect(encoded(.array([.integer(1)])) == wire("*1\r\n:1\r\n"))
        #expect(encoded(.set([])) == wire("~0\r\n"))
        #expect(encoded(.push([.null])) == wire(">1\r\n_\r\n"))
        #expect(encoded(.map([RESPValue.Pair(.integer(1), .null)])) == wire("%1\r\n:1\r\n_\r\n"))
        #expect(
            encoded(.attributed(attributes: [RESPValue.Pair(.simpleString("k"), .simpleString("v"))], .integer(1)))
                == wire("|1\r\n+k\r\n+v\r\n:1\r\n")
        )
    }
}
