import NIOCore
import RESP
import Testing

private func bulk(_ bytes: [UInt8]) -> RESPValue { .bulkString(ByteBuffer(bytes: bytes)) }
private func bulkError(_ text: String) -> RESPValue { .bulkError(ByteBuffer(string: text)) }
private func pair(_ key: RESPValue, _ value: RESPValue) -> RESPValue.Pair { RESPValue.Pair(key, value) }

/// One well-formed reply of every RESP2 and RESP3 type, and what it decodes to. The incremental
/// decoding tests reuse this table.
let decodeCases: [DecodeCase] = [
    // Simple strings and errors.
    DecodeCase("simple string", "+OK\r\n", .simpleString("OK")),
    DecodeCase("empty simple string", "+\r\n", .simpleString("")),
    DecodeCase("simple string with spaces", "+hello world\r\n", .simpleString("hello world")),
    DecodeCase("simple string with a bare LF", "+a\nb\r\n", .simpleString("a\nb")),
    DecodeCase("simple string in UTF-8", "+héllo ✓\r\n", .simpleString("héllo ✓")),
    DecodeCase("simple error", "-ERR unknown command 'FOO'\r\n", .simpleError("ERR unknown command 'FOO'")),
    DecodeCase("wrongtype error", "-WRONGTYPE Operation against a key\r\n", .simpleError("WRONGTYPE Operation against a key")),

    // Integers.
    DecodeCase("zero", ":0\r\n", .integer(0)),
    DecodeCase("positive integer", ":42\r\n", .integer(42)),
    DecodeCase("negative integer", ":-42\r\n", .integer(-42)),
    DecodeCase("negative zero", ":-0\r\n", .integer(0)),
    DecodeCase("leading zeros", ":007\r\n", .integer(7)),
    DecodeCase("Int.max", ":9223372036854775807\r\n", .integer(.max)),
    DecodeCase("Int.min", ":-9223372036854775808\r\n", .integer(.min)),

    // Bulk strings and nulls.
    DecodeCase("bulk string", "$5\r\nhello\r\n", .bulkString("hello")),
    DecodeCase("empty bulk string", "$0\r\n\r\n", .bulkString("")),
    DecodeCase("bulk string that is a CRLF", "$2\r\n\r\n\r\n", .bulkString("\r\n")),
    DecodeCase(
        "binary bulk string with CRLF, NUL and 0xFF inside",
        wire("$8\r\n") + [0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x0D, 0x0A, 0x62] + wire("\r\n"),
        bulk([0x61, 0x0D, 0x0A, 0x00, 0xFF, 0x0D, 0x0A, 0x62])
    ),
    DecodeCase("bulk length with leading zeros", "$03\r\nabc\r\n", .bulkString("abc")),
    DecodeCase("RESP2 null bulk string", "$-1\r\n", .null),
    DecodeCase("RESP2 null array", "*-1\r\n", .null),
    DecodeCase("RESP3 null", "_\r\n", .null),

    // RESP3 scalars.
    DecodeCase("true", "#t\r\n", .boolean(true)),
    DecodeCase("false", "#f\r\n", .boolean(false)),
    DecodeCase("double 1.5", ",1.5\r\n", .double(1.5)),
    DecodeCase("double -2", ",-2\r\n", .double(-2)),
    DecodeCase("double 1e10", ",1e10\r\n", .double(1e10)),
    DecodeCase("double with capital exponent and sign", ",1.25E-3\r\n", .double(1.25e-3)),
    DecodeCase("double with plus sign", ",+3.5\r\n", .double(3.5)),
    DecodeCase("double 0", ",0\r\n", .double(0)),
    DecodeCase("double inf", ",inf\r\n", .double(.infinity)),
    DecodeCase("double -inf", ",-inf\r\n", .double(-.infinity)),
    DecodeCase("double nan", ",nan\r\n", .double(.nan)),
    DecodeCase(
        "big number",
        "(3492890328409238509324850943850943825024385\r\n",
        .bigNumber("3492890328409238509324850943850943825024385")
    ),
    DecodeCase("negative big number", "(-12345678901234567890123\r\n", .bigNumber("-12345678901234567890123")),
    DecodeCase("bulk error", "!21\r\nSYNTAX invalid syntax\r\n", bulkError("SYNTAX invalid syntax")),
    DecodeCase("empty bulk error", "!0\r\n\r\n", bulkError("")),
    DecodeCase("verbatim string", "=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", "Some string")),
    DecodeCase("empty verbatim string", "=4\r\nmkd:\r\n", .verbatimString(format: "mkd", "")),
    DecodeCase("verbatim string holding CRLF", "=9\r\ntxt:a\r\nb:\r\n", .verbatimString(format: "txt", "a\r\nb:")),

    // Aggregates.
    DecodeCase("empty array", "*0\r\n", .array([])),
    DecodeCase("array", "*2\r\n$3\r\nfoo\r\n:1\r\n", .array([.bulkString("foo"), .integer(1)])),
    DecodeCase(
        "nested array",
        "*3\r\n*2\r\n+a\r\n*0\r\n*1\r\n*1\r\n:7\r\n#t\r\n",
        .array([.array([.simpleString("a"), .array([])]), .array([.array([.integer(7)])]), .boolean(true)])
    ),
    DecodeCase("array of nulls", "*3\r\n$-1\r\n_\r\n*-1\r\n", .array([.null, .null, .null])),
    DecodeCase("array holding an error", "*2\r\n-ERR no\r\n!2\r\nno\r\n", .array([.simpleError("ERR no"), bulkError("no")])),
    DecodeCase("empty map", "%0\r\n", .map([])),
    DecodeCase(
        "map",
        "%2\r\n+first\r\n:1\r\n+second\r\n,2.5\r\n",
        .map([pair(.simpleString("first"), .integer(1)), pair(.simpleString("second"), .double(2.5))])
    ),
    DecodeCase(
        "map with aggregate keys and values",
        "%1\r\n*1\r\n:1\r\n%1\r\n$1\r\nk\r\n~1\r\n#f\r\n",
        .map([pair(.array([.integer(1)]), .map([pair(.bulkString("k"), .set([.boolean(false)]))]))])
    ),
    DecodeCase("empty set", "~0\r\n", .set([])),
    DecodeCase(
        "set",
        "~3\r\n+a\r\n+b\r\n:3\r\n",
        .set([.simpleString("a"), .simpleString("b"), .integer(3)])
    ),
    DecodeCase(
        "attribute before an integer",
        "|1\r\n+key\r\n+val\r\n:1\r\n",
        .attributed(attributes: [pair(.simpleString("key"), .simpleString("val"))], .integer(1))
    ),
    DecodeCase(
        "attribute before an array",
        "|2\r\n+a\r\n:1\r\n+b\r\n:2\r\n*1\r\n$1\r\nx\r\n",
        .attributed(
            attributes: [pair(.simpleString("a"), .integer(1)), pair(.simpleString("b"), .integer(2))],
            .array([.bulkString("x")])
        )
    ),
    DecodeCase(
        "attribute on an array element",
        "*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:5\r\n",
        .array([
            .attributed(attributes: [pair(.simpleString("ttl"), .integer(3600))], .bulkString("v")),
            .integer(5),
        ])
    ),
    DecodeCase(
        "push",
        ">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n",
        .push([.bulkString("message"), .bulkString("channel"), .bulkString("hello")])
    ),
    DecodeCase("empty push", ">0\r\n", .push([])),
]

@Suite("Decoding every RESP type")
struct DecodeValueTests {
    @Test("decodes the reply to the expected value and consumes exactly its bytes", arguments: decodeCases)
    func decodesWholeReply(_ testCase: DecodeCase) throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(bytes: testCase.bytes)
        let token = try #require(try decoder.decode(from: &buffer))
        let value = RESPValue(token)
        #expect(equivalent(value, testCase.expected), "got \(value)")
        #expect(buffer.readableBytes == 0)
        #expect(Array(token.bytes.readableBytesView) == testCase.bytes)
    }

    @Test("a double nan decodes to a nan double")
    func nanDecodesAsNaN() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: ",nan\r\n")
        let token = try #require(try decoder.decode(from: &buffer))
        guard case .double(let value) = RESPValue(token) else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test("an attribute and its value form one token; the token's value skips the attribute")
    func attributeIsOneToken() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "|1\r\n+key\r\n+val\r\n:1\r\n+next\r\n")
        let token = try #require(try decoder.decode(from: &buffer))
        #expect(token.value == .integer(1))
        let attributes = try #require(token.attributes)
        #expect(attributes.count == 1)
        let pairs = Array(attributes)
        #expect(pairs.count == 1)
        #expect(pairs.first.map { RESPValue($0.key) } == .simpleString("key"))
        #expect(pairs.first.map { RESPValue($0.value) } == .simpleString("val"))
        // The following reply is untouched.
        #expect(buffer.readableBytes == 7)
        let next = try #require(try decoder.decode(from: &buffer))
        #expect(RESPValue(next) == .simpleString("next"))
        #expect(next.attributes == nil)
    }

    @Test("isPush and isError classify tokens by their type marker")
    func tokenClassification() throws {
        func token(_ text: String) throws -> RESPToken {
            var decoder = RESPTokenDecoder()
            var buffer = ByteBuffer(string: text)
            return try #require(try decoder.decode(from: &buffer))
        }
        #expect(try token(">1\r\n+a\r\n").isPush)
        #expect(try !token("*1\r\n+a\r\n").isPush)
        #expect(try token("-ERR x\r\n").isError)
        #expect(try token("!1\r\nx\r\n").isError)
        #expect(try !token("+OK\r\n").isError)
        #expect(try !token("$3\r\nERR\r\n").isError)
    }

    @Test("aggregate tokens iterate their elements lazily with the announced count")
    func tokenIteration() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "*3\r\n:1\r\n*1\r\n+in\r\n$2\r\nhi\r\n")
        let token = try #require(try decoder.decode(from: &buffer))
        guard case .array(let elements) = token.value else {
            Issue.record("not an array: \(token.value)")
            return
        }
        #expect(elements.count == 3)
        let values = elements.map { $0.value }
        #expect(values.count == 3)
        #expect(values[0] == .integer(1))
        #expect(values[2] == .bulkString(ByteBuffer(string: "hi")))

        var mapBuffer = ByteBuffer(string: "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n")
        let mapToken = try #require(try decoder.decode(from: &mapBuffer))
        guard case .map(let map) = mapToken.value else {
            Issue.record("not a map: \(mapToken.value)")
            return
        }
        #expect(map.count == 2)
        #expect(map.map { $0.value.value } == [.integer(1), .integer(2)])
    }

    @Test("verbatim strings expose their format and payload separately")
    func verbatimParts() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "=15\r\ntxt:Some string\r\n")
        let token = try #require(try decoder.decode(from: &buffer))
        #expect(token.value == .verbatimString(format: ByteBuffer(string: "txt"), ByteBuffer(string: "Some string")))
    }

    @Test("an empty buffer decodes to nil")
    func emptyBuffer() throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        #expect(try decoder.decode(from: &buffer) == nil)
    }
    @Test("isNull agrees with the decoded value for every type", arguments: decodeCases)
    func isNullAgreesWithValue(_ testCase: DecodeCase) throws {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(bytes: testCase.bytes)
        let token = try #require(try decoder.decode(from: &buffer))
        var isNull = false
        if case .null = token.value { isNull = true }
        #expect(token.isNull == isNull)
    }

    @Test("decodeAll hands over the same replies as repeated decode, however the bytes are split")
    func decodeAllMatchesDecode() throws {
        let stream = decodeCases.flatMap(\.bytes)
        let expected = decodeCases.map(\.expected)
        for chunkSize in [1, 2, 3, 7, 64, stream.count] {
            var decoder = RESPTokenDecoder()
            var pending = ByteBuffer()
            var values: [RESPValue] = []
            var start = 0
            while start < stream.count {
                let end = min(start + chunkSize, stream.count)
                pending.writeBytes(stream[start..<end])
                start = end
                try decoder.decodeAll(from: &pending) { token in
                    values.append(RESPValue(token))
                    // The type marker is kept with the token.
                    #expect(token.isPush == (token.bytes.getInteger(at: token.bytes.readerIndex, as: UInt8.self) == UInt8(ascii: ">")))
                }
            }
            #expect(pending.readableBytes == 0)
            #expect(equivalent(values, expected), "chunk size \(chunkSize)")
        }
    }

    @Test("decodeAll consumes and hands over the replies before malformed bytes, then throws")
    func decodeAllStopsAtMalformedBytes() {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer(string: "+a\r\n:1\r\n?x\r\n+b\r\n")
        var values: [RESPValue] = []
        #expect(throws: RESPParseError.self) {
            try decoder.decodeAll(from: &buffer) { values.append(RESPValue($0)) }
        }
        #expect(values == [.simpleString("a"), .integer(1)])
        #expect(buffer.readableBytes == 8)
    }
}
