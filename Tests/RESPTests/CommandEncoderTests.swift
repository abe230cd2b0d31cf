import NIOCore
import RESP
import Testing

/// The bytes written by one call on a fresh encoder.
private func command(_ write: (inout RESPCommandEncoder) -> Void) -> String {
    var encoder = RESPCommandEncoder(buffer: ByteBuffer())
    write(&encoder)
    return String(decoding: encoder.buffer.readableBytesView, as: UTF8.self)
}

@Suite("Encoding commands")
struct CommandEncoderTests {
    @Test("SET with an option and an absent keyword writes exactly five bulk strings")
    func setWithOption() {
        let bytes = command { $0.encode("SET", "k", "v", RESPOption("EX", 10), Optional<RESPKeyword>.none) }
        #expect(bytes == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n10\r\n")
    }

    @Test("a present optional keyword is written")
    func presentKeyword() {
        let bytes = command { $0.encode("SET", "k", "v", Optional(RESPKeyword("NX"))) }
        #expect(bytes == "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n")
    }

    @Test("a command with no arguments is an array of its name")
    func bareCommand() {
        #expect(command { $0.encode("PING") } == "*1\r\n$4\r\nPING\r\n")
    }

    @Test(
        "integers are written as their decimal digits",
        arguments: [
            (0, "0"), (7, "7"), (10, "10"), (42, "42"), (-1, "-1"), (-5, "-5"), (-10, "-10"), (-42, "-42"),
            (1_000_000, "1000000"), (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808"),
        ]
    )
    func integerArgument(_ value: Int, _ digits: String) {
        let bytes = command { $0.encode("INCRBY", "k", value) }
        #expect(bytes == "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$\(digits.count)\r\n\(digits)\r\n")
    }

    @Test("writeDecimal agrees with String(Int) across magnitudes")
    func decimalDigits() {
        var values: [Int] = [Int.min, Int.min + 1, Int.max, Int.max - 1]
        var power = 1
        for _ in 0..<18 {
            values += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
            power *= 10
        }
        for value in values {
            var encoder = RESPCommandEncoder(buffer: ByteBuffer())
            encoder.writeDecimal(value)
            #expect(String(buffer: encoder.buffer) == String(value))
        }
    }

    @Test(
        "doubles are written as round-tripping decimals, infinities as inf and -inf",
        arguments: [(1.5, "1.5"), (-2.0, "-2.0"), (0.1, "0.1"), (1e100, "1e+100"), (Double.infinity, "inf"), (-Double.infinity, "-inf")]
    )
    func doubleArgument(_ value: Double, _ text: String) {
        let bytes = command { $0.encode("INCRBYFLOAT", "k", value) }
        #expect(bytes == "*3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nk\r\n$\(text.utf8.count)\r\n\(text)\r\n")
    }

    @Test("ByteBuffer arguments are written byte for byte, CRLF and all")
    func byteBufferArgument() {
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        let payload = ByteBuffer(bytes: [0x00, 0x0D, 0x0A, 0xFF])
        encoder.encode("SET", "bin", payload)
        #expect(
            Array(encoder.buffer.readableBytesView)
                == wire("*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$4\r\n") + [0x00, 0x0D, 0x0A, 0xFF] + wire("\r\n")
        )
    }

    @Test("array arguments contribute one bulk string per element; an empty array none")
    func arrayArguments() {
        #expect(command { $0.encode("DEL", ["a", "bb", "ccc"]) } == "*4\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbb\r\n$3\r\nccc\r\n")
        #expect(command { $0.encode("DEL", [String]()) } == "*1\r\n$3\r\nDEL\r\n")
        #expect(command { $0.encode("MGET", [1, -2]) } == "*3\r\n$4\r\nMGET\r\n$1\r\n1\r\n$2\r\n-2\r\n")
        #expect(
            command { $0.encode("ZRANGE", "z", [RESPOption("LIMIT", [0, 10])]) }
                == "*5\r\n$6\r\nZRANGE\r\n$1\r\nz\r\n$5\r\nLIMIT\r\n$1\r\n0\r\n$2\r\n10\r\n"
        )
    }

    @Test("Substring and UTF-8 String arguments are counted in bytes")
    func stringArguments() {
        let text = "key:é✓"
        #expect(command { $0.encode("GET", text) } == "*2\r\n$3\r\nGET\r\n$9\r\nkey:é✓\r\n")
        let slice = "prefix:suffix".split(separator: ":")[1]
        #expect(command { $0.encode("GET", slice) } == "*2\r\n$3\r\nGET\r\n$6\r\nsuffix\r\n")
    }

    @Test("a command given as an argument list writes each argument")
    func argumentList() {
        #expect(command { $0.encode(arguments: ["GET", "k"]) } == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        #expect(command { $0.encode(arguments: [[String]]()) } == "*0\r\n")
    }

    @Test("commands append to the buffer, so a pipeline is consecutive commands")
    func pipeline() {
        let bytes = command {
            $0.encode("SET", "a", 1)
            $0.encode("GET", "a")
        }
        #expect(bytes == "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
    }

    @Test("an encoded command decodes as an array of bulk strings")
    func decodesBack() throws {
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.encode("SET", "k", ByteBuffer(bytes: [0x0D, 0x0A]), RESPOption("PX", -1), Optional(RESPKeyword("GET")), 2.5)
        var decoder = RESPTokenDecoder()
        var buffer = encoder.buffer
        let token = try #require(try decoder.decode(from: &buffer))
        #expect(buffer.readableBytes == 0)
        #expect(
            RESPValue(token)
                == .array([
                    .bulkString("SET"), .bulkString("k"), .bulkString("\r\n"), .bulkString("PX"), .bulkString("-1"),
                    .bulkString("GET"), .bulkString("2.5"),
                ])
        )
    }
    @Test("every write form frames its bytes the same: strings, UTF-8, static strings, collections, buffers, integers")
    func writeForms() {
        // A long string (not small-string stored), a non-ASCII one, an empty one.
        let long = String(repeating: "k", count: 300)
        #expect(command { $0.encode("GET", long) } == "*2\r\n$3\r\nGET\r\n$300\r\n\(long)\r\n")
        #expect(command { $0.encode("GET", "héllo ✓") } == "*2\r\n$3\r\nGET\r\n$10\r\nhéllo ✓\r\n")
        #expect(command { $0.encode("GET", "") } == "*2\r\n$3\r\nGET\r\n$0\r\n\r\n")
        #expect(command { $0.encode("GET", Substring("xkeyx").dropFirst().dropLast()) } == "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n")
        // Static strings, including one built from a single scalar.
        #expect(command { $0.writeBulk("~" as StaticString) } == "$1\r\n~\r\n")
        #expect(command { $0.writeBulk("MAXLEN" as StaticString) } == "$6\r\nMAXLEN\r\n")
        // A collection with no contiguous storage is copied byte by byte.
        #expect(command { $0.writeBulk((0..<3).lazy.map { UInt8(ascii: "a") + UInt8($0) }) } == "$3\r\nabc\r\n")
        #expect(command { $0.writeBulk([UInt8](repeating: UInt8(ascii: "z"), count: 12)) } == "$12\r\nzzzzzzzzzzzz\r\n")
        // A buffer slice: only its readable bytes.
        var buffer = ByteBuffer(string: "__payload__")
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: 9)
        #expect(command { $0.writeBulk(buffer) } == "$7\r\npayload\r\n")
        #expect(command { $0.writeBulk(ByteBuffer()) } == "$0\r\n\r\n")
        #expect(command { $0.writeBulk(-1234567) } == "$8\r\n-1234567\r\n")
        #expect(command { $0.writeArrayHeader(123) } == "*123\r\n")
        // A command with ten or more arguments has a two-digit count.
        #expect(command { $0.encode("DEL", Array(repeating: "a", count: 10)) }.hasPrefix("*11\r\n$3\r\nDEL\r\n$1\r\na\r\n"))
    }

    @Test("many commands grow the buffer past its first capacity without losing bytes")
    func growth() {
        var encoder = RESPCommandEncoder(buffer: ByteBufferAllocator().buffer(capacity: 8))
        var expected = ""
        for index in 0..<500 {
            encoder.encode("SET", "key:\(index)", index)
            let key = "key:\(index)"
            expected += "*3\r\n$3\r\nSET\r\n$\(key.utf8.count)\r\n\(key)\r\n$\(String(index).count)\r\n\(index)\r\n"
        }
        #expect(String(buffer: encoder.buffer) == expected)
    }
}
