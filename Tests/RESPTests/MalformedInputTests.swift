import NIOCore
import RESP
import Testing

/// Malformed replies and the error each must produce.
let malformedCases: [MalformedCase] = [
    // Type markers.
    MalformedCase("unknown type byte", "?abc\r\n", .invalidTypeByte),
    MalformedCase("lone unknown type byte", "x", .invalidTypeByte),
    MalformedCase("CRLF where a type byte belongs", "\r\n", .invalidTypeByte),
    MalformedCase("space before the type byte", " +OK\r\n", .invalidTypeByte),
    MalformedCase("NUL type byte", [0x00], .invalidTypeByte),
    MalformedCase("bad type byte inside an array", "*2\r\n:1\r\n@x\r\n", .invalidTypeByte),
    MalformedCase("bad type byte as a map value", "%1\r\n+k\r\n@\r\n", .invalidTypeByte),

    // Line endings.
    MalformedCase("CR not followed by LF", "+OK\rX", .missingCRLF),
    MalformedCase("CR followed by CR", "+OK\r\r\n", .missingCRLF),
    MalformedCase("bulk payload longer than announced", "$3\r\nfooXY", .missingCRLF),
    MalformedCase("bulk payload followed by LF only", "$3\r\nfoo\nX", .missingCRLF),
    MalformedCase("verbatim payload not terminated", "=5\r\ntxt:ab\r", .missingCRLF),
    MalformedCase("RESP3 null with content", "_x\r\n", .missingCRLF),
    MalformedCase("length line with bare CR", "*1\rx", .missingCRLF),

    // Integers, lengths and counts.
    MalformedCase("letters as an integer", ":abc\r\n", .invalidInteger),
    MalformedCase("empty integer", ":\r\n", .invalidInteger),
    MalformedCase("lone minus", ":-\r\n", .invalidInteger),
    MalformedCase("decimal point in an integer", ":1.5\r\n", .invalidInteger),
    MalformedCase("space in an integer", ": 1\r\n", .invalidInteger),
    MalformedCase("double minus", ":--1\r\n", .invalidInteger),
    MalformedCase("Int.max + 1", ":9223372036854775808\r\n", .invalidInteger),
    MalformedCase("Int.min - 1", ":-9223372036854775809\r\n", .invalidInteger),
    MalformedCase("twenty digits", ":12345678901234567890\r\n", .invalidInteger),
    MalformedCase("letters as a bulk length", "$abc\r\n", .invalidInteger),
    MalformedCase("empty bulk length", "$\r\n", .invalidInteger),
    MalformedCase("letters as an array count", "*x\r\n", .invalidInteger),
    MalformedCase("overflowing array count", "*99999999999999999999\r\n", .invalidInteger),
    MalformedCase("bulk length -2", "$-2\r\n", .invalidLength),
    MalformedCase("array count -5", "*-5\r\n", .invalidLength),
    MalformedCase("set count -1", "~-1\r\n", .invalidLength),
    MalformedCase("map count -1", "%-1\r\n", .invalidLength),
    MalformedCase("push count -1", ">-1\r\n", .invalidLength),
    MalformedCase("attribute count -1", "|-1\r\n", .invalidLength),
    MalformedCase("bulk error length -1", "!-1\r\n", .invalidLength),
    MalformedCase("verbatim length -1", "=-1\r\n", .invalidLength),
    MalformedCase("Int.min bulk length", "$-9223372036854775808\r\n", .invalidLength),

    // RESP3 streamed types, which Redis never sends.
    MalformedCase("streamed bulk string", "$?\r\n", .unsupportedStreamedType),
    MalformedCase("streamed array", "*?\r\n", .unsupportedStreamedType),
    MalformedCase("streamed map", "%?\r\n", .unsupportedStreamedType),
    MalformedCase("streamed set", "~?\r\n", .unsupportedStreamedType),

    // Booleans.
    MalformedCase("boolean x", "#x\r\n", .invalidBoolean),
    MalformedCase("empty boolean", "#\r\n", .invalidBoolean),
    MalformedCase("boolean tt", "#tt\r\n", .invalidBoolean),
    MalformedCase("capital boolean", "#T\r\n", .invalidBoolean),
    MalformedCase("boolean true spelled out", "#true\r\n", .invalidBoolean),

    // Doubles.
    MalformedCase("double with two points", ",1.2.3\r\n", .invalidDouble),
    MalformedCase("hexadecimal double", ",0x10\r\n", .invalidDouble),
    MalformedCase("hexadecimal float", ",0x1p3\r\n", .invalidDouble),
    MalformedCase("empty double", ",\r\n", .invalidDouble),
    MalformedCase("letters as a double", ",abc\r\n", .invalidDouble),
    MalformedCase("leading space in a double", ", 1\r\n", .invalidDouble),
    MalformedCase("trailing space in a double", ",1 \r\n", .invalidDouble),
    MalformedCase("dangling exponent", ",1e\r\n", .invalidDouble),
    MalformedCase("capital NaN", ",NaN\r\n", .invalidDouble),
    MalformedCase("double with a comma", ",1,5\r\n", .invalidDouble),

    // Big numbers.
    MalformedCase("letters in a big number", "(12a\r\n", .invalidBigNumber),
    MalformedCase("empty big number", "(\r\n", .invalidBigNumber),
    MalformedCase("big number of just a sign", "(-\r\n", .invalidBigNumber),
    MalformedCase("fractional big number", "(1.5\r\n", .invalidBigNumber),

    // Verbatim strings.
    MalformedCase("verbatim of length 0", "=0\r\n\r\n", .invalidVerbatim),
    MalformedCase("verbatim of length 3", "=3\r\ntxt\r\n", .invalidVerbatim),
    MalformedCase("verbatim without a colon", "=5\r\ntxtab\r\n", .invalidVerbatim),
    MalformedCase("verbatim with the colon at index 2", "=4\r\ntx:a\r\n", .invalidVerbatim),

    // Errors nested inside aggregates and attributes.
    MalformedCase("bad boolean inside an array", "*2\r\n:1\r\n#x\r\n", .invalidBoolean),
    MalformedCase("bad double as a map key", "%1\r\n,1..\r\n:1\r\n", .invalidDouble),
    MalformedCase("bad integer after an attribute", "|1\r\n+a\r\n+b\r\n:z\r\n", .invalidInteger),
    MalformedCase("null set", "*1\r\n~-1\r\n", .invalidLength),
]

@Suite("Rejecting malformed input")
struct MalformedInputTests {
    @Test("malformed input throws the expected error code", arguments: malformedCases)
    func rejects(_ testCase: MalformedCase) {
        let run = decodeAll(testCase.bytes)
        #expect(run.values.isEmpty)
        #expect(run.error?.code == testCase.code, "got \(String(describing: run.error))")
        #expect(run.leftover == testCase.bytes.count, "an error must consume nothing")
    }

    @Test("malformed input fed one byte at a time throws the same error code", arguments: malformedCases)
    func rejectsIncrementally(_ testCase: MalformedCase) {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        var thrown: RESPParseError?
        for byte in testCase.bytes {
            buffer.writeInteger(byte)
            do {
                let token = try decoder.decode(from: &buffer)
                #expect(token == nil, "a malformed reply decoded to \(String(describing: token))")
            } catch {
                thrown = error
                break
            }
        }
        #expect(thrown?.code == testCase.code, "got \(String(describing: thrown))")
    }

    @Test("the error offset points at the offending byte")
    func errorOffsets() {
        #expect(decodeError(wire("?abc\r\n")) == RESPParseError(code: .invalidTypeByte, offset: 0))
        #expect(decodeError(wire("*2\r\n:1\r\n#x\r\n")) == RESPParseError(code: .invalidBoolean, offset: 9))
        #expect(decodeError(wire("*2\r\n:1\r\n@x\r\n")) == RESPParseError(code: .invalidTypeByte, offset: 8))
        #expect(decodeError(wire("+OK\rX")) == RESPParseError(code: .missingCRLF, offset: 3))
        #expect(decodeError(wire("$3\r\nfooXY")) == RESPParseError(code: .missingCRLF, offset: 7))
        #expect(decodeError(wire(":12x\r\n")) == RESPParseError(code: .invalidInteger, offset: 1))
    }

    @Test("offsets are relative to the reply being decoded, not the buffer")
    func offsetIsPerReply() {
        let run = decodeAll(wire("+OK\r\n:1\r\n#x\r\n"))
        #expect(run.values == [.simpleString("OK"), .integer(1)])
        #expect(run.error == RESPParseError(code: .invalidBoolean, offset: 1))
        #expect(run.leftover == 4)
    }

    @Test("a reply before a malformed one still decodes; the malformed one stays in the buffer")
    func goodThenBad() {
        let run = decodeAll(wire("$2\r\nok\r\n,1.2.3\r\n"))
        #expect(run.values == [.bulkString("ok")])
        #expect(run.error?.code == .invalidDouble)
        #expect(run.leftover == 8)
    }

    @Test("error descriptions name the code and offset, never the payload")
    func descriptions() throws {
        let error = try #require(decodeError(wire("+secret-value\rX")))
        #expect(error.description == "RESP parse error missing_crlf at reply offset 13")
        #expect(!error.description.contains("secret"))
        #expect(RESPParseError.Code.aggregateCountLimitExceeded.description == "aggregate_count_limit_exceeded")
        #expect(RESPParseError.Code.unsupportedStreamedType.description == "unsupported_streamed_type")
    }
}
