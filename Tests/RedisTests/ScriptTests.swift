import MetricsTestKit
import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

/// Serialized, on a server of its own: the tests flush and inspect the server's script cache.
@Suite("Scripts: EVALSHA with EVAL fallback, SCRIPT, FCALL", .serialized)
struct ScriptTests {
    private func scriptServer() async throws -> RedisServer {
        try await RedisServer.shared(named: "redis-tests-scripts")
    }

    /// A script unique to one test run, so tests that flush or inspect the script cache of the
    /// shared server do not see each other's scripts.
    private func uniqueScript(_ body: String) -> RedisScript {
        RedisScript("-- \(UInt64.random(in: 0...UInt64.max))\n" + body)
    }

    @Test("script digests match known SHA-1 vectors")
    func digestsMatchKnownVectors() {
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisScript("abc").sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            RedisScript("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").sha1
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        )
        #expect(RedisScript("The quick brown fox jumps over the lazy dog").sha1 == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
        #expect(RedisScript(String(repeating: "a", count: 1_000_000)).sha1 == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        #expect(RedisScript("return 1").description == "RedisScript(e0e1f9fabfc9d4800c877a703b823ac0578ff8db)")
    }

    @Test("script digests equal the server's SCRIPT LOAD digests around block boundaries and for UTF-8")
    func digestsMatchTheServer() async throws {
        let server = try await scriptServer()
        try await withClient(configuration(for: server)) { client in
            var sources = [54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200].map { length in
                "return '" + String(repeating: "x", count: length - 10) + "'"
            }
            sources.append("return 'héllo wörld ✓ 🚀'")
            for source in sources {
                let script = RedisScript(source)
                let digest = try await client.load(script)
                #expect(digest == script.sha1, "length \(source.utf8.count)")
            }
        }
    }

    @Test("run sends keys as KEYS and arguments as ARGV, never in the source")
    func keysAndArgumentsAreParameters() async throws {
        let server = try await scriptServer()
        let p = uniquePrefix()
        let script = uniqueScript("redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], ARGV[2], ARGV[3], #KEYS}")
        try await withClient(configuration(for: server)) { client in
            let hostile = "x'); redis.call('FLUSHALL'); --"
            let reply = try await client.run(
                script, keys: [p + "k"], arguments: [hostile, 42, ByteBuffer(string: "bytes")], as: [String].self
            )
            #expect(reply == [p + "k", hostile, "42", "bytes", "1"])
            #expect(try await client.get(p + "k")?.text == hostile)
            let token = try await client.run(script, keys: [p + "k2"], arguments: ["v", 1, 2])
            #expect(RESPValue(token) == .array([.bulkString(p + "k2"), .bulkString("v"), .bulkString("1"), .bulkString("2"), .integer(1)]))
        }
    }

    @Test("after SCRIPT FLUSH, EVALSHA gets NOSCRIPT once and EVAL runs and reloads the script")
    func fallbackAfterScriptFlush() async throws {
        let server = try await scriptServer()
        let p = uniquePrefix()
        let metrics = TestMetrics()
        let script = uniqueScript("return redis.call('INCR', KEYS[1])")
        try await withClient(configuration(for: server), metrics: RedisMetrics(prefix: "s", factory: metrics)) { client in
            #expect(try await client.run(script, keys: [p + "n"], as: Int.self) == 1)
            #expect(try await client.send(SCRIPTEXISTS([script])) == [true])
            #expect(try await client.run(script, keys: [p + "n"], as: Int.self) == 2)
            _ = try await client.send(SCRIPTFLUSH())
            #expect(try await client.send(SCRIPTEXISTS([script])) == [false])
            #expect(try await client.run(script, keys: [p + "n"], as: Int.self) == 3)  // ran exactly once
            #expect(try await client.send(SCRIPTEXISTS([script])) == [true])
        }
        let noScript = try metrics.expectCounter("s.command.errors", [("command", "EVALSHA"), ("code", "NOSCRIPT")])
        #expect(noScript.totalValue == 2)  // the first run and the run after the flush
        #expect(try metrics.expectTimer("s.command.duration", [("command", "EVAL")]).values.count == 2)
    }

    @Test("after a server restart the script is reloaded on first use")
    func fallbackAfterServerRestart() async throws {
        let fastRecovery = RedisPoolConfiguration(
            minimumConnections: 1, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200),
            breakerFailureThreshold: 3, breakerOpenDuration: .milliseconds(300), maintenanceInterval: .milliseconds(20)
        )
        let script = uniqueScript("return ARGV[1] .. '!'")
        try await RedisServer.withServer { server in
            try await withClient(configuration(for: server), pool: fastRecovery) { client in
                #expect(try await client.run(script, arguments: ["a"], as: String.self) == "a!")
                await server.kill()
                try await server.restart()
                #expect(await eventually(timeout: .seconds(10)) { (try? await client.ping()) == "PONG" })
                #expect(try await client.send(SCRIPTEXISTS([script])) == [false])
                #expect(try await client.run(script, arguments: ["b"], as: String.self) == "b!")
                #expect(try await client.send(SCRIPTEXISTS([script])) == [true])
            }
        }
    }

    @Test("in an explicit pipeline, an EVALSHA that gets NOSCRIPT is re-run with EVAL; the others keep their results")
    func pipelineFallback() async throws {
        let server = try await scriptServer()
        let p = uniquePrefix()
        let script = uniqueScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        let other = uniqueScript("return 'other'")
        try await withClient(configuration(for: server)) { client in
            let plain = try await client.pipeline([EVALSHA(script, keys: [p + "plain"], arguments: [1])])
            guard case .failure(let error) = plain[0] else {
                Issue.record("a plain pipeline does not fall back")
                return
            }
            #expect(error.code == .noScript)

            _ = try await client.load(other)
            let results = try await client.pipelineWithScriptFallback([
                SET(p + "n", "10"), EVALSHA(script, keys: [p + "n"], arguments: [5]), GET(p + "n"), EVALSHA(other),
                HGET(p + "n", field: "f"),
            ])
            #expect(results.count == 5)
            #expect(try results[1].get().value == .integer(15))
            #expect(RESPValue(try results[2].get()) == .bulkString("10"))  // ran before the retried script
            #expect(RESPValue(try results[3].get()) == .bulkString("other"))
            guard case .failure(let wrongType) = results[4] else {
                Issue.record("HGET on a string should fail")
                return
            }
            #expect(wrongType.code == .wrongType)
            #expect(try await client.get(p + "n")?.text == "15")
            #expect(try await client.send(SCRIPTEXISTS([script, other])) == [true, true])
        }
    }

    @Test("script errors are server errors with their code; RESP2 connections run scripts too")
    func scriptErrorsAndRESP2() async throws {
        let server = try await scriptServer()
        let failing = uniqueScript("return redis.error_reply('MYERR the script failed')")
        let echo = uniqueScript("return {ARGV[1], tonumber(ARGV[2]) * 2}")
        try await withClient(configuration(for: server, protocolVersion: .resp2)) { client in
            do throws(RedisError) {
                try await client.run(failing)
                Issue.record("expected the script's error")
            } catch {
                #expect(error.code == .otherServerError)
                #expect(error.serverCode == "MYERR")
                #expect(error.command == "EVAL")
            }
            let reply = try await client.run(echo, arguments: ["x", 21])
            #expect(RESPValue(reply) == .array([.bulkString("x"), .integer(42)]))
        }
    }

    @Test("FUNCTION LOAD and FCALL pass keys and arguments; functions survive SCRIPT FLUSH")
    func functions() async throws {
        let server = try await scriptServer()
        let p = uniquePrefix()
        let library = "strata_test_\(UInt32.random(in: 0...UInt32.max))"
        let code = """
            #!lua name=\(library)
            redis.register_function('\(library)_set', function(keys, args)
                redis.call('SET', keys[1], args[1])
                return redis.call('GET', keys[1])
            end)
            """
        try await withClient(configuration(for: server)) { client in
            #expect(try await client.send(FUNCTIONLOAD(code)) == library)
            await #expect(throws: RedisError.self) { _ = try await client.send(FUNCTIONLOAD(code)) }
            #expect(try await client.send(FUNCTIONLOAD(code, replace: true)) == library)
            _ = try await client.send(SCRIPTFLUSH(asynchronous: true))
            let reply = try await client.send(FCALL("\(library)_set", keys: [p + "f"], arguments: ["value"]))
            #expect(RESPValue(reply) == .bulkString("value"))
            _ = try await client.send(FUNCTIONDELETE(library))
            await #expect(throws: RedisError.self) { _ = try await client.send(FCALL("\(library)_set", keys: [p + "f"])) }
        }
    }
}
