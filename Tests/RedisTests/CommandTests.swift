import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Typed commands against a real server")
struct CommandTests {
    @Test("strings: SET options, GET, GETEX, GETDEL, MGET, MSET, INCR")
    func stringCommands() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            #expect(try await client.set(p + "a", to: "1"))
            #expect(try await client.get(p + "a")?.text == "1")
            #expect(try await client.set(p + "a", to: "2", condition: .ifNotExists) == false)
            #expect(try await client.set(p + "b", to: "x", condition: .ifExists) == false)
            #expect(try await client.set(p + "a", to: "3", expiration: .milliseconds(60_000), condition: .ifExists))
            #expect(try await client.send(SETGET(SET(p + "a", "4", expiration: .keepTTL)))?.text == "3")
            guard case .expires(let ms) = try await client.send(PTTL(p + "a")) else {
                Issue.record("KEEPTTL lost the expiry")
                return
            }
            #expect(ms > 50_000)
            #expect(try await client.send(GETEX(p + "a", persist: true))?.text == "4")
            #expect(try await client.send(TTL(p + "a")) == .noExpiry)
            #expect(try await client.send(GETEX(p + "a", expiration: .seconds(100)))?.text == "4")
            #expect(try await client.send(EXPIRE(p + "a", in: .milliseconds(1500))))
            _ = try await client.send(MSET([(key: p + "m1", value: "v1"), (key: p + "m2", value: "v2")]))
            #expect(try await client.mget([p + "m1", p + "missing", p + "m2"]).map { $0?.text } == ["v1", nil, "v2"])
            #expect(try await client.send(GETDEL(p + "m1"))?.text == "v1")
            #expect(try await client.get(p + "m1") == nil)
            #expect(try await client.increment(p + "n") == 1)
            #expect(try await client.increment(p + "n", by: 41) == 42)
            #expect(try await client.send(TTL(p + "never")) == .keyDoesNotExist)
        }
    }

    @Test("keys: DEL, UNLINK, EXISTS, SCAN with MATCH/COUNT/TYPE, DUMP and RESTORE")
    func keyCommands() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            for index in 0..<30 { try await client.set(p + "k\(index)", to: index) }
            _ = try await client.send(HSET(p + "h", fields: [(field: "f", value: "v")]))
            #expect(try await client.send(EXISTS([p + "k1", p + "k2", p + "nope"])) == 2)
            let strings = try await client.scanAll(match: p + "*", count: 7, type: "string")
            #expect(Set(strings).count == 30)
            let hashes = try await client.scanAll(match: p + "*", type: "hash")
            #expect(hashes == [p + "h"])
            let dumped = try #require(try await client.send(DUMP(p + "k5")))
            _ = try await client.send(RESTORE(p + "copy", timeToLiveMilliseconds: 0, serialized: dumped))
            #expect(try await client.get(p + "copy")?.text == "5")
            await #expect(throws: RedisError.self) {
                _ = try await client.send(RESTORE(p + "copy", serialized: dumped))
            }
            _ = try await client.send(RESTORE(p + "copy", serialized: dumped, replace: true))
            #expect(try await client.delete(p + "k1", p + "k2", p + "nope") == 2)
            #expect(try await client.unlink(p + "k3") == 1)
        }
    }

    @Test("hashes: HSET, HGET, HMGET, HINCRBY, HGETALL, HDEL over RESP3 and RESP2")
    func hashCommands() async throws {
        let server = try await sharedServer()
        for version in [RedisProtocolVersion.resp3, .resp2] {
            let p = uniquePrefix() + "\(version.rawValue):"
            try await withClient(configuration(for: server, protocolVersion: version)) { client in
                #expect(try await client.send(HSET(p + "h", fields: [(field: "a", value: "1"), (field: "b", value: "2")])) == 2)
                #expect(try await client.send(HGET(p + "h", field: "a"))?.text == "1")
                #expect(try await client.send(HMGET(p + "h", fields: ["b", "zz"])).map { $0?.text } == ["2", nil])
                #expect(try await client.send(HINCRBY(p + "h", field: "a", by: 9)) == 10)
                let all = try await client.send(HGETALL(p + "h"))
                #expect(all.mapValues(\.text) == ["a": "10", "b": "2"])
                #expect(try await client.send(HDEL(p + "h", fields: ["a", "zz"])) == 1)
            }
        }
    }

    @Test("server: PING, INFO, CONFIG GET, MEMORY, TIME, CLIENT ID/SETNAME/INFO")
    func serverCommands() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            #expect(try await client.ping() == "PONG")
            let info = try await client.send(INFO("server"))
            #expect(info["redis_version"]?.hasPrefix("7.") == true)
            #expect(try await client.send(CONFIGGET("maxmemory-policy"))["maxmemory-policy"] != nil)
            try await client.set(p + "m", to: "value")
            #expect((try await client.send(MEMORYUSAGE(p + "m")) ?? 0) > 0)
            #expect(try await client.send(MEMORYUSAGE(p + "absent")) == nil)
            if case .map = try await client.send(MEMORYSTATS()) {} else { Issue.record("MEMORY STATS is not a map") }
            #expect(!(try await client.send(MEMORYDOCTOR())).isEmpty)
            #expect(try await client.send(TIME()).seconds > 1_700_000_000)
            try await client.withDedicatedConnection { connection in
                let id = try await connection.send(CLIENTID())
                _ = try await connection.send(CLIENTSETNAME("strata-test"))
                let fields = try await connection.send(CLIENTINFO())
                #expect(fields["id"] == String(id))
                #expect(fields["name"] == "strata-test")
            }
        }
    }

    @Test("raw commands return RESP3 values; server errors carry codes, never keys")
    func rawCommandsAndErrors() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "s", to: "v")
            #expect(try await client.rawValue(["STRLEN", p + "s"]) == .integer(1))
            #expect(try await client.rawValue(["DEBUG", "PROTOCOL", "double"]) == .double(3.141))
            do throws(RedisError) {
                _ = try await client.send(HGET(p + "s", field: "f"))
                Issue.record("expected WRONGTYPE")
            } catch {
                #expect(error.code == .wrongType)
                #expect(error.command == "HGET")
                #expect(!error.description.contains(p))
            }
            do throws(RedisError) {
                _ = try await client.raw("NOSUCHCOMMAND", p + "secret")
                Issue.record("expected ERR")
            } catch {
                #expect(error.code == .err)
                #expect(!error.description.contains("secret"))
                #expect(error.debugDescription.contains("unknown command"))
            }
        }
    }

    @Test("connection settings: client name, database selection and RESP2")
    func connectionSettings() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        var settings = configuration(for: server, protocolVersion: .resp2)
        settings.database = 3
        settings.clientName = "strata-db3"
        let connection = try await RedisConnection.connect(configuration: settings)
        #expect(connection.protocolVersion == .resp2)
        try await connection.set(p + "x", to: "in-db-3")
        let info = try await connection.send(CLIENTINFO())
        #expect(info["db"] == "3")
        #expect(info["name"] == "strata-db3")
        #expect(info["resp"] == "2")
        await connection.close()
        let other = try await RedisConnection.connect(configuration: configuration(for: server))
        #expect(try await other.get(p + "x") == nil)
        #expect(other.protocolVersion == .resp3)
        await other.close()
    }

    @Test("URLs parse into configurations")
    func urlParsing() throws {
        let plain = try #require(RedisConnectionConfiguration(url: "redis://127.0.0.1:6380/2"))
        #expect(plain.endpoint == RedisEndpoint(host: "127.0.0.1", port: 6380))
        #expect(plain.database == 2)
        #expect(plain.tls == nil)
        let secure = try #require(RedisConnectionConfiguration(url: "rediss://alice:s3cret@cache.internal"))
        #expect(secure.username == "alice")
        #expect(secure.password == "s3cret")
        #expect(secure.endpoint.port == 6379)
        #expect(secure.tls != nil)
        #expect(RedisConnectionConfiguration(url: "http://x") == nil)
        #expect(RedisConnectionConfiguration(url: "redis://host:notaport") == nil)
    }
}
