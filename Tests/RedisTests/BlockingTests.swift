import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Blocking reads run on connections of their own")
struct BlockingTests {
    @Test("a blocked XREADGROUP does not delay a concurrent GET on the same client")
    func blockedReadDoesNotDelayTheClient() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let stream = p + "stream"
        // One pooled connection: had the blocking read used it, the GET would wait behind it.
        let pool = RedisPoolConfiguration(minimumConnections: 1, maximumConnections: 1)
        // Set up with the default deadlines: under a loaded machine the first commands may be slow.
        try await withClient(configuration(for: server)) { setup in
            try await setup.createGroupIfMissing(stream, group: "g")
            try await setup.set(p + "k", to: "v")
        }
        try await withClient(configuration(for: server, commandTimeout: .seconds(2)), pool: pool) { client in
            let clock = ContinuousClock()
            try await client.withBlockingReader { reader in
                let started = clock.now
                // Blocks longer than the command timeout: the reader's deadline is block + margin.
                async let read = reader.send(XREADGROUP(stream, group: "g", consumer: "c", block: .seconds(4)))
                try await Task.sleep(for: .milliseconds(150))
                let getStarted = clock.now
                #expect(try await client.get(p + "k")?.text == "v")
                #expect(clock.now - getStarted < .milliseconds(500))
                try await Task.sleep(for: .milliseconds(2500))  // past the client's 2 s command timeout
                let id = try await client.send(XADD(stream, fields: [(field: "f", value: "v")]))
                let entries = try await read
                #expect(entries[stream]?.map(\.id) == [id].compactMap { $0 })
                #expect(clock.now - started < .seconds(4))
            }
        }
    }

    @Test("BLPOP waits for an element, returns nil at its timeout, and has the reader's deadline")
    func blpop() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.withBlockingReader(margin: .milliseconds(500)) { reader in
                let clock = ContinuousClock()
                let started = clock.now
                #expect(try await reader.send(BLPOP([p + "empty"], timeout: .milliseconds(200))) == nil)
                let waited = clock.now - started
                #expect(waited >= .milliseconds(150))
                #expect(waited < .seconds(5))

                async let popped = reader.send(BLPOP([p + "a", p + "b"], timeout: .seconds(5)))
                try await Task.sleep(for: .milliseconds(100))
                _ = try await client.send(RPUSH(p + "b", elements: ["first", "second"]))
                let element = try #require(try await popped)
                #expect(element.key == p + "b")
                #expect(element.element.text == "first")
                #expect(try await reader.send(BRPOP([p + "b"], timeout: .seconds(1)))?.element.text == "second")
                _ = try await client.send(LPUSH(p + "c", elements: [1, 2]))
                #expect(try await client.send(LLEN(p + "c")) == 2)
            }
        }
    }

    @Test("a blocked read times out and returns empty; RESP2 null replies too", arguments: [RedisProtocolVersion.resp3, .resp2])
    func blockTimeoutIsEmpty(protocolVersion: RedisProtocolVersion) async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server, protocolVersion: protocolVersion)) { client in
            try await client.createGroupIfMissing(stream, group: "g")
            try await client.withDedicatedConnection { connection in
                let read = try await connection.sendBlocking(XREADGROUP(stream, group: "g", consumer: "c", block: .milliseconds(50)))
                #expect(read.isEmpty)
                let plain = try await connection.sendBlocking(XREAD(streams: [(stream, "$")], block: .milliseconds(50)))
                #expect(plain.isEmpty)
            }
        }
    }

    @Test("the reader reconnects after its connection is killed")
    func readerReconnects() async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server)) { client in
            try await client.createGroupIfMissing(stream, group: "g")
            try await client.withBlockingReader { reader in
                let firstID = try await reader.clientID()
                _ = try await client.raw("CLIENT", "KILL", "ID", String(firstID))
                // The kill may be noticed by the next command (which then fails) or before it.
                var secondID: Int?
                for _ in 0..<3 where secondID == nil {
                    secondID = try? await reader.clientID()
                }
                #expect(secondID != nil)
                #expect(secondID != firstID)
                _ = try await client.send(XADD(stream, fields: [(field: "f", value: "v")]))
                let read = try await reader.send(XREADGROUP(stream, group: "g", consumer: "c", block: .seconds(1)))
                #expect(read[stream]?.count == 1)
            }
        }
    }

    @Test("cancelling a read that blocks forever fails it at once and closes its connection")
    func cancellingAForeverBlock() async throws {
        let server = try await sharedServer()
        let stream = uniquePrefix() + "stream"
        try await withClient(configuration(for: server)) { client in
            try await client.createGroupIfMissing(stream, group: "g")
            try await client.withBlockingReader { reader in
                let firstID = try await reader.clientID()
                let blocked = Task { try await reader.send(XREADGROUP(stream, group: "g", consumer: "c", block: .zero)) }
                try await Task.sleep(for: .milliseconds(100))
                let clock = ContinuousClock()
                let cancelledAt = clock.now
                blocked.cancel()
                do {
                    _ = try await blocked.value
                    Issue.record("expected cancellation")
                } catch let error as RedisError {
                    #expect(error.code == .cancelled)
                }
                #expect(clock.now - cancelledAt < .milliseconds(500))
                #expect(try await reader.clientID() != firstID)
                // The server no longer has the blocked client.
                let gone = await eventually {
                    guard let token = try? await client.raw("CLIENT", "LIST", "ID", String(firstID)) else { return false }
                    return (try? String(fromRESP: token))?.isEmpty == true
                }
                #expect(gone)
            }
        }
    }
}
