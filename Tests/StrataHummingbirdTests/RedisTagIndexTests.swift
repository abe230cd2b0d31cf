import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Redis
import RedisServerHarness
import Strata
@testable import StrataHummingbird
import StrataRedis
import Testing

/// Runs `body` with a running client on the suite's shared server.
func withRedis<T: Sendable>(_ body: @Sendable (RedisClient) async throws -> T) async throws -> T {
    let server = try await RedisServer.shared(named: "strata-hummingbird")
    let client = try RedisClient(
        configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(10)))
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await client.run()
            return nil
        }
        defer { client.shutdown() }
        return try await body(client)
    }
}

func uniquePrefix(_ name: String = #function) -> String {
    "edge-\(name.prefix { $0 != "(" })-\(UInt32.random(in: 0...UInt32.max))"
}

/// The Redis tag index against a real `redis-server`.
@Suite struct RedisTagIndexTests {
    @Test func recordingAddsToEverySetWithAnExpiryAndDrainingEmptiesItAtomically() async throws {
        let prefix = uniquePrefix()
        try await withRedis { client in
            let index = RedisResponseTagIndex(
                client: client, keyPrefix: "\(prefix):", maximumMembersPerTag: 2, operationTimeout: .seconds(10))
            #expect(try await index.record(member: "GET\n/a", tags: ["t1", "t2"], lifetime: .seconds(30)))
            #expect(try await index.record(member: "GET\n/b", tags: ["t1"], lifetime: .seconds(90)))
            let ttl = try await client.rawValue(["PTTL", index.key(for: "t1")])
            guard case .integer(let milliseconds) = ttl else { Issue.record("PTTL \(ttl)"); return }
            #expect(milliseconds > 85_000 && milliseconds <= 91_000)
            // The set of t1 is full: nothing is added anywhere, and the caller must not store.
            #expect(try await !index.record(member: "GET\n/c", tags: ["t2", "t1"], lifetime: .seconds(30)))
            #expect(try await client.rawValue(["SCARD", index.key(for: "t2")]) == .integer(1))
            // Re-recording an existing member is always allowed.
            #expect(try await index.record(member: "GET\n/a", tags: ["t1"], lifetime: .seconds(30)))
            #expect(try await index.drain(tag: "t1").sorted() == ["GET\n/a", "GET\n/b"])
            #expect(try await client.rawValue(["EXISTS", index.key(for: "t1")]) == .integer(0))
            #expect(try await index.drain(tag: "t1").isEmpty)
        }
    }

    @Test func invalidatingATagRemovesItsResponsesFromRedis() async throws {
        let prefix = uniquePrefix()
        try await withRedis { client in
            let tier = try RedisCacheTier(client: client)
            let index = RedisResponseTagIndex(client: client, keyPrefix: "\(prefix):tag:")
            let app = try TestApp(distributedTier: tier, tagIndex: index) { $0.namespace = prefix }
            try await app.test { http in
                _ = try await http.get("/products/1")
                _ = try await http.get("/products/2")
                let stored = try await Self.entryKeys(client, prefix)
                #expect(stored.count == 2)
                #expect(try await client.rawValue(["SCARD", index.key(for: "products")]) == .integer(2))

                let report = await app.responses.invalidate(tags: ["product-1"])
                #expect(report.removedEntries == 1 && report.isComplete)
                let remaining = try await Self.entryKeys(client, prefix)
                #expect(remaining.count == 1)
                #expect(try await client.rawValue(["EXISTS", index.key(for: "product-1")]) == .integer(0))
                #expect(try await http.get("/products/1")["Cache-Status"] == "strata; fwd=miss; stored")
                #expect(try await http.get("/products/2")["Cache-Status"]?.hasPrefix("strata; hit") == true)
            }
        }
    }

    @Test func anUnreachableIndexMakesResponsesUncacheableNotWrong() async throws {
        let server = try await RedisServer.start()
        let client = try RedisClient(
            configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(2)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { client.shutdown() }
            await server.kill()
            let index = RedisResponseTagIndex(client: client, operationTimeout: .milliseconds(200))
            let app = try TestApp(tagIndex: index)
            try await app.test { http in
                let response = try await http.get("/products/1")
                #expect(response.status == .ok)
                #expect(response["Cache-Status"] == "strata; fwd=miss; detail=tag-index")
                #expect(response["Cache-Control"] == "no-store")
            }
        }
    }

    static func entryKeys(_ client: RedisClient, _ prefix: String) async throws -> [String] {
        let reply = try await client.rawValue(["KEYS", "{\(prefix):v1:*"])
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { item in
            if case .bulkString(let buffer) = item { return String(buffer: buffer) }
            return nil
        }
    }
}
