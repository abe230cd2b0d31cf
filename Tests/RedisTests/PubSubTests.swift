import NIOCore
import Redis
import RedisServerHarness
import Testing

@Suite("Pub/sub: scoped subscriptions, bounded buffers, gaps after reconnects")
struct PubSubTests {
    private let fastRecovery = RedisPoolConfiguration(
        initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200), breakerOpenDuration: .milliseconds(300),
        maintenanceInterval: .milliseconds(20)
    )

    @Test(
        "channel, pattern and shard-channel messages arrive, over RESP3 and RESP2",
        arguments: [RedisProtocolVersion.resp3, .resp2]
    )
    func messagesArrive(version: RedisProtocolVersion) async throws {
        let server = try await sharedServer()
        let p = uniquePrefix() + "\(version.rawValue):"
        try await withClient(configuration(for: server, protocolVersion: version)) { client in
            let targets: [RedisSubscriptionTarget] = [.channel(p + "news"), .pattern(p + "user:*"), .shardChannel(p + "shard")]
            let received = try await client.subscribe(targets) { subscription in
                #expect(try await client.publish("hello", to: p + "news") == 1)
                #expect(try await client.publish("alice", to: p + "user:1") == 1)
                #expect(try await client.publish("s", toShardChannel: p + "shard") == 1)
                var messages: [RedisPubSubMessage] = []
                for try await event in subscription {
                    guard case .message(let message) = event else { continue }
                    messages.append(message)
                    if messages.count == 3 { break }
                }
                return messages
            }
            #expect(received.map(\.channel) == [p + "news", p + "user:1", p + "shard"])
            #expect(received.map { $0.payload.text } == ["hello", "alice", "s"])
            #expect(received[1].pattern == p + "user:*")
            #expect(received[2].isSharded)
            // Leaving the closure unsubscribed: nobody hears the channel any more.
            #expect(await eventually { (try? await client.publish("late", to: p + "news")) == 0 })
        }
    }

    @Test("a slow subscriber drops its oldest messages and learns how many; a fast one gets every message")
    func slowSubscriberOverflowsIntoAGap() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.subscribe([.channel(p + "c")], bufferLimit: 1000) { fast in
                try await client.subscribe([.channel(p + "c")], bufferLimit: 5) { slow in
                    for index in 0..<50 { try await client.publish(String(index), to: p + "c") }
                    var fastPayloads: [String] = []
                    for try await event in fast {
                        if case .message(let message) = event { fastPayloads.append(message.payload.text) }
                        if fastPayloads.count == 50 { break }
                    }
                    #expect(fastPayloads == (0..<50).map(String.init))
                    var slowEvents: [RedisSubscriptionEvent] = []
                    for try await event in slow {
                        slowEvents.append(event)
                        if case .message(let message) = event, message.payload.text == "49" { break }
                    }
                    guard case .gap(let gap) = slowEvents.first else {
                        Issue.record("the slow subscriber's first event must be a gap")
                        return
                    }
                    guard case .overflow(let dropped) = gap.reason else {
                        Issue.record("expected an overflow gap")
                        return
                    }
                    // The oldest were dropped; what is left is exactly the newest, in order. (The
                    // count depends on how far the delivery got before this reader started.)
                    let kept = slowEvents.dropFirst().compactMap { event -> String? in
                        if case .message(let message) = event { return message.payload.text }
                        return nil
                    }
                    #expect(dropped >= 40)
                    #expect(dropped + kept.count == 50)
                    #expect(kept == (dropped..<50).map(String.init))
                }
            }
        }
    }

    @Test("a killed pub/sub connection is re-established and subscribers get a gap before new messages")
    func clientKillProducesAGap() async throws {
        // A private server: killing every pub/sub client must not disturb other tests.
        try await RedisServer.withServer { server in
        let p = uniquePrefix()
        try await withClient(configuration(for: server), pool: fastRecovery) { client in
            try await client.subscribe([.channel(p + "c")]) { subscription in
                try await client.publish("before", to: p + "c")
                var iterator = subscription.makeAsyncIterator()
                #expect(try await iterator.next() == .message(.init(channel: p + "c", payload: ByteBuffer(string: "before"), isSharded: false)))
                _ = try await client.raw("CLIENT", "KILL", "TYPE", "pubsub")
                guard case .gap(let gap) = try await iterator.next() else {
                    Issue.record("expected a gap after the connection was killed")
                    return
                }
                #expect(gap.reason == .reconnected)
                #expect(gap.from <= gap.to)
                #expect(await eventually { (try? await client.publish("after", to: p + "c")) == 1 })
                guard case .message(let message) = try await iterator.next() else {
                    Issue.record("expected the message published after the reconnect")
                    return
                }
                #expect(message.payload.text == "after")
            }
        }
        }
    }

    @Test("subscriptions survive a server restart")
    func serverRestartProducesAGap() async throws {
        try await RedisServer.withServer { server in
            try await withClient(configuration(for: server), pool: fastRecovery) { client in
                try await client.subscribe([.pattern("p:*")]) { subscription in
                    var iterator = subscription.makeAsyncIterator()
                    await server.kill()
                    try await server.restart()
                    guard case .gap(let gap) = try await iterator.next() else {
                        Issue.record("expected a gap after the restart")
                        return
                    }
                    #expect(gap.reason == .reconnected)
                    #expect(await eventually { (try? await client.publish("x", to: "p:1")) == 1 })
                    guard case .message(let message) = try await iterator.next() else {
                        Issue.record("expected a message after the restart")
                        return
                    }
                    #expect(message.channel == "p:1")
                }
            }
        }
    }

    @Test(
        "a server that stops answering is detected by keep-alive, and the subscription comes back with a gap",
        arguments: [RedisProtocolVersion.resp3, .resp2]
    )
    func keepAliveDetectsAFrozenServer(version: RedisProtocolVersion) async throws {
        try await RedisServer.withServer { server in
            var pool = fastRecovery
            pool.keepAliveInterval = .milliseconds(100)
            var settings = configuration(for: server, protocolVersion: version, commandTimeout: .milliseconds(500))
            settings.connectTimeout = .seconds(3)
            try await withClient(settings, pool: pool) { client in
                try await client.subscribe([.channel("frozen")]) { subscription in
                    var iterator = subscription.makeAsyncIterator()
                    try server.pause()
                    try await Task.sleep(for: .milliseconds(1500))
                    try server.resume()
                    guard case .gap(let gap) = try await iterator.next() else {
                        Issue.record("expected a gap after the server froze")
                        return
                    }
                    #expect(gap.reason == .reconnected)
                    #expect(await eventually { (try? await client.publish("thawed", to: "frozen")) == 1 })
                    guard case .message(let message) = try await iterator.next() else {
                        Issue.record("expected a message after the thaw")
                        return
                    }
                    #expect(message.payload.text == "thawed")
                }
            }
        }
    }

    @Test("shutting the client down ends subscriptions with a shutdown error")
    func shutdownEndsSubscriptions() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let client = try RedisClient(configuration: configuration(for: server))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            do {
                try await client.subscribe([.channel(p + "c")]) { subscription in
                    client.shutdown()
                    for try await _ in subscription {}
                    Issue.record("the sequence must throw on shutdown")
                }
            } catch let error as RedisError {
                #expect(error.code == .shutdown)
            }
            try await group.waitForAll()
        }
    }
}
