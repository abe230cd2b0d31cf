import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Client tracking: invalidations for reads, flushes and lost connections")
struct TrackingTests {
    private let fastRecovery = RedisPoolConfiguration(
        initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200), maintenanceInterval: .milliseconds(20)
    )

    /// Collects invalidations in arrival order.
    private final class Recorder: Sendable {
        let events = Locked<[RedisInvalidation]>([])
        var handler: @Sendable (RedisInvalidation) -> Void { { event in self.events.withLock { $0.append(event) } } }
        var invalidatedKeys: Set<String> {
            Set(events.value.flatMap { event -> [String] in
                if case .keys(let keys) = event { return keys }
                return []
            })
        }
        func contains(_ event: RedisInvalidation) -> Bool { events.value.contains(event) }
    }

    @Test("a key read through the tracker is invalidated when another connection writes it, also inside MULTI/EXEC")
    func writesFromElsewhereInvalidate() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let recorder = Recorder()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "a", to: "1")
            try await client.set(p + "b", to: "1")
            try await client.withTracking(onInvalidation: recorder.handler) { tracked in
                #expect(try await tracked.get(p + "a")?.text == "1")
                #expect(try await tracked.get(p + "b")?.text == "1")
                try await client.set(p + "a", to: "2")
                #expect(await eventually { recorder.invalidatedKeys.contains(p + "a") })
                _ = try await client.transaction([SET(p + "b", "2")])
                #expect(await eventually { recorder.invalidatedKeys.contains(p + "b") })
                // Untracked keys produce nothing.
                try await client.set(p + "never-read", to: "x")
                try await Task.sleep(for: .milliseconds(50))
                #expect(!recorder.invalidatedKeys.contains(p + "never-read"))
            }
        }
    }

    @Test("expiry invalidates a tracked key; the value and its TTL are read together")
    func expiryInvalidatesAndTTLIsReadAtomically() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let recorder = Recorder()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "e", to: "v", expiration: .milliseconds(1500))
            try await client.withTracking(onInvalidation: recorder.handler) { tracked in
                let (value, ttl) = try await tracked.getWithTimeToLive(p + "e")
                #expect(value?.text == "v")
                guard case .expires(let ms) = ttl else {
                    Issue.record("expected a TTL")
                    return
                }
                #expect(ms > 0 && ms <= 1500)
                #expect(await eventually { recorder.invalidatedKeys.contains(p + "e") })
            }
        }
    }

    @Test("FLUSHALL, a killed tracking connection and a server restart each say: drop everything")
    func flushKillAndRestart() async throws {
        try await RedisServer.withServer { server in
            let recorder = Recorder()
            try await withClient(configuration(for: server), pool: fastRecovery) { client in
                try await client.set("k", to: "1")
                try await client.withTracking(onInvalidation: recorder.handler) { tracked in
                    _ = try await tracked.get("k")
                    _ = try await client.raw("FLUSHALL")
                    #expect(await eventually { recorder.contains(.all(.flushed)) })

                    _ = try await client.raw("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
                    #expect(await eventually { recorder.contains(.all(.disconnected)) })
                    // Back, with tracking re-enabled before the first read.
                    #expect(await eventually { (try? await client.set("k2", to: "x")) == true })
                    #expect(await eventually { (try? await tracked.get("k2"))??.text == "x" })
                    try await client.set("k2", to: "y")
                    #expect(await eventually { recorder.invalidatedKeys.contains("k2") })

                    let before = recorder.events.value.filter { $0 == .all(.disconnected) }.count
                    await server.kill()
                    try await server.restart()
                    #expect(await eventually { recorder.events.value.filter { $0 == .all(.disconnected) }.count > before })
                    #expect(await eventually(timeout: .seconds(10)) {
                        do {
                            _ = try await tracked.get("k3")
                            return true
                        } catch {
                            return false
                        }
                    })
                }
            }
        }
    }

    @Test("a full tracking table evicts entries and invalidates keys that did not change")
    func trackingTableEvictionSendsInvalidations() async throws {
        try await RedisServer.withServer(.init(arguments: ["--tracking-table-max-keys", "2"])) { server in
            let recorder = Recorder()
            try await withClient(configuration(for: server)) { client in
                for index in 0..<10 { try await client.set("t\(index)", to: index) }
                try await client.withTracking(onInvalidation: recorder.handler) { tracked in
                    for index in 0..<10 { _ = try await tracked.get("t\(index)") }
                    #expect(await eventually { recorder.invalidatedKeys.count >= 5 })
                }
            }
        }
    }

    @Test("broadcast mode reports prefixed keys nobody read; NOLOOP hides the tracker's own writes")
    func broadcastAndNoLoop() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let recorder = Recorder()
        try await withClient(configuration(for: server)) { client in
            let options = RedisTrackingOptions(mode: .broadcast(prefixes: [p + "in:"]), noLoop: true)
            try await client.withTracking(options, onInvalidation: recorder.handler) { tracked in
                try await client.set(p + "in:x", to: "1")
                try await client.set(p + "out:x", to: "1")
                #expect(await eventually { recorder.invalidatedKeys.contains(p + "in:x") })
                _ = try await tracked.send(SET(p + "in:own", "1"))
                try await Task.sleep(for: .milliseconds(50))
                #expect(!recorder.invalidatedKeys.contains(p + "out:x"))
                #expect(!recorder.invalidatedKeys.contains(p + "in:own"))
            }
        }
    }

    @Test("opt-in mode tracks only reads made with CLIENT CACHING YES")
    func optInTracksOnlyCachingReads() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let recorder = Recorder()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "opted", to: "1")
            try await client.set(p + "plain", to: "1")
            try await client.withTracking(.init(mode: .optIn), onInvalidation: recorder.handler) { tracked in
                _ = try await tracked.getWithTimeToLive(p + "opted")
                _ = try await tracked.get(p + "plain")
                try await client.set(p + "plain", to: "2")
                try await client.set(p + "opted", to: "2")
                #expect(await eventually { recorder.invalidatedKeys.contains(p + "opted") })
                #expect(!recorder.invalidatedKeys.contains(p + "plain"))
            }
        }
    }

    @Test("a RESP2-only configuration cannot track")
    func resp2CannotTrack() async throws {
        let server = try await sharedServer()
        try await withClient(configuration(for: server, protocolVersion: .resp2)) { client in
            do {
                try await client.withTracking(onInvalidation: { _ in }) { _ in }
                Issue.record("tracking over RESP2 must be refused")
            } catch let error as RedisError {
                #expect(error.code == .connectionFailed)
            }
        }
    }
}

@Suite("Tracking under memory pressure")
struct TrackingEvictionTests {
    @Test("a tracked key evicted under maxmemory is invalidated")
    func evictionInvalidates() async throws {
        let options = RedisServer.Options(arguments: ["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-random"])
        try await RedisServer.withServer(options) { server in
            let invalidated = Locked<Set<String>>([])
            try await withClient(configuration(for: server)) { client in
                try await client.set("victim", to: "v")
                try await client.withTracking(onInvalidation: { event in
                    if case .keys(let keys) = event { invalidated.withLock { $0.formUnion(keys) } }
                }) { tracked in
                    #expect(try await tracked.get("victim")?.text == "v")
                    let filler = String(repeating: "x", count: 10_000)
                    var index = 0
                    // Fill past maxmemory until the server evicts the tracked key.
                    while !invalidated.value.contains("victim"), index < 5_000 {
                        try await client.set("fill:\(index)", to: filler)
                        index += 1
                    }
                    #expect(invalidated.value.contains("victim"))
                    #expect(try await client.get("victim") == nil)
                }
            }
        }
    }
}

@Suite("Push frames at every reply boundary")
struct PushInterleavingTests {
    @Test("a push before, between or after replies never takes a caller's reply", arguments: [0, 1, 2])
    func pushesNeverTakeReplies(position: Int) async throws {
        let push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        let fake = try await FakeRedisServer.start { command in
            let reply = "$\(command.last!.count)\r\n\(command.last!)\r\n"
            switch position {
            case 0: return ByteBuffer(string: push + reply)
            case 1: return ByteBuffer(string: reply + push)
            default: return ByteBuffer(string: push + reply + push)
            }
        }
        let pushes = Locked(0)
        let connection = try await RedisConnection.connect(
            configuration: RedisConnectionConfiguration(
                endpoint: RedisEndpoint(host: "127.0.0.1", port: fake.port), protocolVersion: .resp2
            ),
            pushHandler: { _ in pushes.withLock { $0 += 1 } }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let value = try await connection.send(RawCommand(["ECHO", "v\(index)"]))
                    #expect(RESPValue(value) == .bulkString("v\(index)"))
                }
            }
            try await group.waitForAll()
        }
        #expect(await eventually { pushes.value == (position == 2 ? 100 : 50) })
        #expect(!connection.isClosed)
        await connection.close()
        await fake.stop()
    }
}
