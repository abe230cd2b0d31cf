import NIOCore
import RESP
import RedisServerHarness
import Testing

/// What Redis 7.0 sends for `DEBUG PROTOCOL <type>`, decoded by `RESPTokenDecoder` from a real
/// server over a blocking socket.
///
/// Observed with `redis-cli -3` and raw sockets: `attrib` is one reply (an attribute map ahead of
/// a bulk string); `push` is two frames (a `>` push, then the reply proper). Under RESP2, the
/// RESP3-only types fall back to RESP2 ones and `push` is refused.
@Suite("DEBUG PROTOCOL against a real server")
struct DebugProtocolTests {
    static let sharedName = "debug-protocol"

    static let resp3: [(String, RESPValue)] = [
        ("string", .bulkString("Hello World")),
        ("integer", .integer(12345)),
        ("double", .double(3.141)),
        ("bignum", .bigNumber("1234567999999999999999999999999999999")),
        ("null", .null),
        ("array", .array([.integer(0), .integer(1), .integer(2)])),
        ("set", .set([.integer(0), .integer(1), .integer(2)])),
        (
            "map",
            .map([
                .init(.integer(0), .boolean(false)), .init(.integer(1), .boolean(true)),
                .init(.integer(2), .boolean(false)),
            ])
        ),
        (
            "attrib",
            .attributed(
                attributes: [.init(.bulkString("key-popularity"), .array([.bulkString("key:123"), .integer(90)]))],
                .bulkString("Some real reply following the attribute"))
        ),
        ("verbatim", .verbatimString(format: "txt", "This is a verbatim\nstring")),
        ("true", .boolean(true)),
        ("false", .boolean(false)),
    ]

    static let resp2: [(String, RESPValue)] = [
        ("string", .bulkString("Hello World")),
        ("integer", .integer(12345)),
        ("double", .bulkString("3.141")),
        ("bignum", .bulkString("1234567999999999999999999999999999999")),
        ("null", .null),
        ("array", .array([.integer(0), .integer(1), .integer(2)])),
        ("set", .array([.integer(0), .integer(1), .integer(2)])),
        ("map", .array([.integer(0), .integer(0), .integer(1), .integer(1), .integer(2), .integer(0)])),
        ("attrib", .bulkString("Some real reply following the attribute")),
        ("push", .simpleError("ERR RESP2 is not supported by this command")),
        ("verbatim", .bulkString("This is a verbatim\nstring")),
        ("true", .integer(1)),
        ("false", .integer(0)),
    ]

    @Test("RESP3: every DEBUG PROTOCOL type decodes to the expected RESPValue")
    func resp3Types() async throws {
        let server = try await RedisServer.shared(named: Self.sharedName)
        let socket = try BlockingSocket(port: server.port)

        let hello = try socket.request("HELLO", "3")
        guard case .map(let pairs) = hello else {
            Issue.record("HELLO 3 should answer a map, got \(hello)")
            return
        }
        #expect(pairs.contains(.init(.bulkString("proto"), .integer(3))))

        var expectedStream: [RESPValue] = [hello]
        for (type, expected) in Self.resp3 {
            let value = try socket.request("DEBUG", "PROTOCOL", type)
            #expect(value == expected, "DEBUG PROTOCOL \(type)")
            expectedStream.append(value)
        }

        // push: an out-of-band frame first, then the command's own reply.
        try socket.send("DEBUG", "PROTOCOL", "push")
        let push = try socket.readToken()
        #expect(push.isPush)
        #expect(RESPValue(push) == .push([.bulkString("server-cpu-usage"), .integer(42)]))
        let reply = try socket.readToken()
        #expect(!reply.isPush)
        #expect(RESPValue(reply) == .bulkString("Some real reply following the push reply"))
        expectedStream += [RESPValue(push), RESPValue(reply)]

        // The attribute is exposed on the token and skipped by `value`.
        try socket.send("DEBUG", "PROTOCOL", "attrib")
        let attributed = try socket.readToken()
        #expect(attributed.attributes?.count == 1)
        guard case .bulkString(let text) = attributed.value else {
            Issue.record("attrib's value should be a bulk string")
            return
        }
        #expect(String(buffer: text) == "Some real reply following the attribute")
        expectedStream.append(RESPValue(attributed))

        // Re-decode the whole session fed one byte at a time: same values.
        #expect(try Self.decodeBytewise(socket.received) == expectedStream)
    }

    @Test("RESP2: RESP3-only types fall back, push is refused")
    func resp2Fallbacks() async throws {
        let server = try await RedisServer.shared(named: Self.sharedName)
        let socket = try BlockingSocket(port: server.port)
        var expectedStream: [RESPValue] = []
        for (type, expected) in Self.resp2 {
            let token: RESPToken
            try socket.send("DEBUG", "PROTOCOL", type)
            token = try socket.readToken()
            #expect(RESPValue(token) == expected, "DEBUG PROTOCOL \(type)")
            #expect(!token.isPush)
            expectedStream.append(RESPValue(token))
        }
        #expect(try Self.decodeBytewise(socket.received) == expectedStream)
    }

    @Test("RESP3 null and errors: missing key, WRONGTYPE")
    func resp3NullAndErrors() async throws {
        let server = try await RedisServer.shared(named: Self.sharedName)
        let socket = try BlockingSocket(port: server.port)
        _ = try socket.request("HELLO", "3")
        let key = "debug-protocol:\(UInt64.random(in: 0...UInt64.max))"
        #expect(try socket.request("GET", key) == .null)
        #expect(try socket.request("LPUSH", key, "a") == .integer(1))
        guard case .simpleError(let message) = try socket.request("GET", key) else {
            Issue.record("GET on a list is an error")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(try socket.request("DEL", key) == .integer(1))
    }

    static func decodeBytewise(_ bytes: ByteBuffer) throws -> [RESPValue] {
        var decoder = RESPTokenDecoder()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in bytes.readableBytesView {
            buffer.writeInteger(byte)
            while let token = try decoder.decode(from: &buffer) {
                values.append(RESPValue(token))
            }
        }
        #expect(buffer.readableBytes == 0)
        return values
    }
}
