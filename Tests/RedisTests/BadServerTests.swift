import NIOCore
import RESP
import Redis
import Testing

@Suite("A server that misbehaves: typed errors, bounded memory, no crash, no hang")
struct BadServerTests {
    private func connect(to fake: FakeRedisServer, limits: RESPLimits = .default, password: String? = nil,
                         protocolVersion: RedisProtocolVersion = .resp2) async throws -> RedisConnection {
        try await RedisConnection.connect(
            configuration: RedisConnectionConfiguration(
                endpoint: RedisEndpoint(host: "127.0.0.1", port: fake.port), password: password,
                protocolVersion: protocolVersion, commandTimeout: .seconds(10), limits: limits
            )
        )
    }

    @Test(
        "a malformed or oversized reply is a protocol error and closes the connection",
        arguments: [
            "?garbage\r\n", "$9999999999\r\n", "*4294967295\r\n", ":12x\r\n", "$3\r\nabcXY", "%-5\r\n",
            "#maybe\r\n", ",not-a-number\r\n",
        ]
    )
    func malformedReplyClosesTheConnection(reply: String) async throws {
        let fake = try await FakeRedisServer.start { _ in ByteBuffer(string: reply) }
        let connection = try await connect(to: fake)
        let clock = ContinuousClock()
        let started = clock.now
        do throws(RedisError) {
            _ = try await connection.get("k")
            Issue.record("expected a protocol error")
        } catch {
            #expect(error.code == .protocolError)
            #expect(error.underlying is RESPParseError)
        }
        // Fails on the bytes at hand: never waits for announced gigabytes or the 10 s deadline.
        #expect(clock.now - started < .seconds(5))
        #expect(await eventually { connection.isClosed })
        await fake.stop()
    }

    @Test("a reply larger than the reply-size limit fails once the limit is crossed")
    func replyBytesLimitBoundsMemory() async throws {
        var limits = RESPLimits()
        limits.maxReplyBytes = 64 * 1024
        let fake = try await FakeRedisServer.start { _ in
            var bytes = ByteBuffer(string: "*100000\r\n")
            for _ in 0..<20_000 { bytes.writeString("$3\r\nabc\r\n") }
            return bytes
        }
        let connection = try await connect(to: fake, limits: limits)
        do throws(RedisError) {
            _ = try await connection.raw("KEYS", "*")
            Issue.record("expected a protocol error")
        } catch {
            #expect(error.code == .protocolError)
            #expect((error.underlying as? RESPParseError)?.code == .replyBytesLimitExceeded)
        }
        await fake.stop()
    }

    @Test("a reply nobody asked for closes the connection")
    func unsolicitedReplyClosesTheConnection() async throws {
        let fake = try await FakeRedisServer.start { _ in ByteBuffer(string: "+OK\r\n+SURPRISE\r\n") }
        let connection = try await connect(to: fake)
        _ = try? await connection.ping()
        #expect(await eventually { connection.isClosed })
        await fake.stop()
    }

    @Test("a server that never answers times the command out and keeps the connection")
    func silentServerTimesOut() async throws {
        let fake = try await FakeRedisServer.start { _ in nil }
        let connection = try await connect(to: fake)
        do throws(RedisError) {
            _ = try await connection.send(GET("k"), timeout: .milliseconds(80))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        #expect(!connection.isClosed)
        await connection.close()
        await fake.stop()
    }

    @Test("a server without HELLO gets a RESP2 handshake with AUTH")
    func resp2FallbackWhenHelloIsRefused() async throws {
        let fake = try await FakeRedisServer.start { command in
            switch command.first?.uppercased() {
            case "HELLO": ByteBuffer(string: "-ERR unknown command 'HELLO'\r\n")
            case "AUTH": ByteBuffer(string: "+OK\r\n")
            default: ByteBuffer(string: "$5\r\nvalue\r\n")
            }
        }
        let connection = try await connect(to: fake, password: "pw", protocolVersion: .resp3)
        #expect(connection.protocolVersion == .resp2)
        #expect(try await connection.get("k")?.text == "value")
        #expect(fake.commands.map { $0.first ?? "" } == ["HELLO", "AUTH", "GET"])
        #expect(fake.commands[1] == ["AUTH", "pw"])
        await connection.close()
        await fake.stop()
    }
}
