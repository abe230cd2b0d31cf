import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// Sharded pub/sub through the cluster client, against the shared cluster.

/// Reads events until a message with `payload` arrives (publishing it every 50 ms meanwhile with
/// `publish`); returns the events read before it. Fails after `seconds`.
func awaitMessage(
    _ payload: String, on subscription: RedisSubscription, seconds: Int = 15,
    publish: @escaping @Sendable () async throws -> Void
) async throws -> [RedisSubscriptionEvent] {
    try await withThrowingTaskGroup(of: [RedisSubscriptionEvent]?.self) { group in
        group.addTask {
            while !Task.isCancelled {
                try? await publish()
                try? await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw RedisError(.timeout, command: "awaitMessage")
        }
        group.addTask {
            var before: [RedisSubscriptionEvent] = []
            for try await event in subscription {
                if case .message(let message) = event, String(buffer: message.payload) == payload { return before }
                before.append(event)
            }
            throw RedisError(.connectionClosed, command: "awaitMessage")
        }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let events = result { return events }
        }
        return []
    }
}

extension LiveClusterTests {
    @Test("Cluster client: shard channels on every shard and a plain channel deliver through one subscription")
    func clusterShardedPubSub() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let channels = spreadKeys("sch", 12)
            let topology = try #require(client.topology)
            #expect(Set(channels.compactMap { topology.primary(forKey: $0)?.endpoint }).count == 3)
            let plain = spreadKeys("plain", 1)[0]
            try await client.subscribe(channels.map { .shardChannel($0) } + [.channel(plain)]) { subscription in
                for channel in channels {
                    #expect(try await client.publish("to \(channel)", toShardChannel: channel) == 1)
                }
                try await client.publish("broadcast", to: plain)
                var received: Set<String> = []
                for try await event in subscription {
                    guard case .message(let message) = event else { continue }
                    #expect(message.isSharded == (message.channel != plain))
                    received.insert(String(buffer: message.payload))
                    if received.count == channels.count + 1 { break }
                }
                #expect(received == Set(channels.map { "to \($0)" } + ["broadcast"]))
            }
        }
    }

    @Test("Cluster client: a shard channel subscription follows its slot to the new owner, with a gap")
    func clusterShardedPubSubSurvivesSlotMove() async throws {
        let cluster = try await SharedCluster.get()
        let endpoints = cluster.nodes.map(\.endpoint)
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let channel = spreadKeys("moving-channel", 1)[0]
            let slot = HashSlot(key: channel)
            let (source, target) = try sourceAndTarget(client, key: channel)
            let primaries = try #require(client.topology).shards.compactMap(\.primary)
            try await withConnections(to: endpoints) { connections in
                try await client.subscribe([.shardChannel(channel)]) { subscription in
                    let first = try await awaitMessage("before", on: subscription) {
                        try await client.publish("before", toShardChannel: channel)
                    }
                    #expect(first.isEmpty)
                    try await moveEmptySlot(slot, from: source, to: target, primaries: primaries, connections: connections)
                    let between = try await awaitMessage("after", on: subscription) {
                        try await client.publish("after", toShardChannel: channel)
                    }
                    let gaps = between.filter { if case .gap = $0 { true } else { false } }
                    // At least one gap must cover the move. The server's unsubscribe push and the
                    // client's own map refresh may each report it; a second gap only over-reports.
                    #expect(!gaps.isEmpty && gaps.count <= 2, "a gap covers the move")
                }
                try await moveEmptySlot(slot, from: target, to: source, primaries: primaries, connections: connections)
            }
            let restored = try await eventually(seconds: 10) {
                try await allNodesAgree(cluster, slot: slot, owner: source.endpoint)
            }
            #expect(restored, "slot \(slot) back on its owner on every node")
        }
    }
}

extension LiveClusterTests {
    @Test(
        "A node's client refuses a shard channel of another node with a moved error, and its other subscriptions carry on",
        arguments: [RedisProtocolVersion.resp3, .resp2])
    func shardSubscriptionRefusedByNode(protocolVersion: RedisProtocolVersion) async throws {
        let cluster = try await SharedCluster.get()
        let node = cluster.nodes[0].endpoint
        let topology = try await withConnection(to: node) { connection in
            try ClusterTopology(shardsReply: try await connection.raw("CLUSTER", "SHARDS"), askedNode: node)
        }
        let channels = spreadKeys("refused", 40)
        let local = try #require(channels.first { topology.primary(forKey: $0)?.endpoint == node })
        let elsewhere = try #require(channels.first { topology.primary(forKey: $0).map { $0.endpoint != node } ?? false })
        let client = try RedisClient(configuration: RedisConnectionConfiguration(endpoint: node, protocolVersion: protocolVersion))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.subscribe([.shardChannel(local)]) { subscription in
                let start = ContinuousClock.now
                let refused = await #expect(throws: RedisError.self) {
                    try await client.subscribe([.shardChannel(elsewhere)]) { _ in }
                }
                #expect(refused?.code == .moved)
                #expect(ContinuousClock.now - start < .seconds(5), "refused at once, not at the confirmation timeout")
                let events = try await awaitMessage("still here", on: subscription) {
                    try await client.publish("still here", toShardChannel: local)
                }
                #expect(events.isEmpty, "no gap: the connection stayed up")
            }
            client.shutdown()
            try await group.waitForAll()
        }
    }
}
