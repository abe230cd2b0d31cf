import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// RedisClusterClient against the shared cluster. These tests live in an extension of
// LiveClusterTests so they run serialized with it: two of them move a slot or put one in
// migration, and restore it before returning.

/// Runs a cluster client seeded with every node for the duration of `body`.
func withClusterClient<T>(
    _ cluster: RedisCluster, readFromReplicas: Bool = false, _ body: (RedisClusterClient) async throws -> T
) async throws -> T {
    let client = try RedisClusterClient(
        seeds: cluster.nodes.map(\.endpoint),
        configuration: RedisConnectionConfiguration(endpoint: cluster.nodes[0].endpoint),
        readFromReplicas: readFromReplicas,
        minimumRefreshSpacing: .milliseconds(100)
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        do {
            let result = try await body(client)
            client.shutdown()
            try await group.waitForAll()
            return result
        } catch {
            client.shutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`; returns whether it became true.
func eventually(seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Moves an empty `slot` from `source` to `target` the way resharding does (IMPORTING,
/// MIGRATING, then NODE on the target first so it bumps its epoch, then everywhere else).
func moveEmptySlot(
    _ slot: HashSlot, from source: ClusterNode, to target: ClusterNode, primaries: [ClusterNode],
    connections: [RedisEndpoint: RedisConnection]
) async throws {
    try await connections[target.endpoint]!.raw("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id)
    try await connections[source.endpoint]!.raw("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
    try await assignSlot(slot, to: target, primaries: primaries, connections: connections)
}

/// Hands `slot` to `target` on every primary (target first, so it bumps its epoch), after its
/// keys were migrated; the last step of a migration.
func assignSlot(
    _ slot: HashSlot, to target: ClusterNode, primaries: [ClusterNode], connections: [RedisEndpoint: RedisConnection]
) async throws {
    try await connections[target.endpoint]!.raw("CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id)
    for primary in primaries where primary != target {
        try await connections[primary.endpoint]!.raw("CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id)
    }
}

/// Moves the empty slot of `key` from its owner in `topology` to another primary for the
/// duration of `body`, then deletes `key` on the target, moves the slot back and expects every
/// node to agree on it again. An error thrown by `body` is recorded as an issue, so the slot is
/// always moved back.
func withSlotMoved(
    _ cluster: RedisCluster, key: String, topology: ClusterTopology,
    _ body: (_ source: ClusterNode, _ target: ClusterNode, _ connections: [RedisEndpoint: RedisConnection]) async throws -> Void
) async throws {
    let slot = HashSlot(key: key)
    let source = try #require(topology.primary(forSlot: slot))
    let primaries = topology.shards.compactMap(\.primary)
    let target = try #require(primaries.first { $0 != source })
    try await withConnections(to: cluster.nodes.map(\.endpoint)) { connections in
        try await moveEmptySlot(slot, from: source, to: target, primaries: primaries, connections: connections)
        do {
            try await body(source, target, connections)
        } catch {
            Issue.record("\(error)")
        }
        _ = try? await connections[target.endpoint]!.raw("DEL", key)
        try await moveEmptySlot(slot, from: target, to: source, primaries: primaries, connections: connections)
    }
    let restored = try await eventually(seconds: 10) {
        try await allNodesAgree(cluster, slot: slot, owner: source.endpoint)
    }
    #expect(restored, "slot \(slot) back on its owner on every node")
}

/// Whether every node's `CLUSTER SHARDS` agrees and `slot` belongs to `owner`.
func allNodesAgree(_ cluster: RedisCluster, slot: HashSlot, owner: RedisEndpoint) async throws -> Bool {
    var views: [ClusterTopology] = []
    for node in cluster.nodes {
        try await withConnection(to: node.endpoint) { connection in
            views.append(try ClusterTopology(shardsReply: try await connection.raw("CLUSTER", "SHARDS"), askedNode: node.endpoint))
        }
    }
    return ClusterTopology.crossCheck(views: views)?.isUnanimous == true
        && views.allSatisfy { $0.primary(forSlot: slot)?.endpoint == owner }
}

extension LiveClusterTests {
    @Test("Cluster client: SET and GET 1000 keys spread over every shard")
    func clusterClientSetGet() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let run = UInt32.random(in: 0...UInt32.max)
            let keys = (0..<1000).map { "cc:\(run):\($0)" }
            for (index, key) in keys.enumerated() {
                #expect(try await client.set(key, to: "value-\(index)"))
            }
            for (index, key) in keys.enumerated() {
                let value = try await client.get(key)
                #expect(value.map { String(buffer: $0) } == "value-\(index)")
            }
            let topology = try #require(client.topology)
            let owners = Set(keys.compactMap { topology.primary(forKey: $0)?.endpoint })
            #expect(owners.count == 3)
            #expect(client.nodeEndpoints == Set(topology.shards.compactMap { $0.primary?.endpoint }))
            #expect(try await client.delete(keys) == 1000)
        }
    }

    @Test("Cluster client: MGET and DEL across shards keep the caller's order")
    func clusterClientMultiKey() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let run = UInt32.random(in: 0...UInt32.max)
            let keys = (0..<300).map { "ccm:\(run):\($0)" }
            for (index, key) in keys.enumerated() where index.isMultiple(of: 2) {
                try await client.set(key, to: "v\(index)")
            }
            // Repeats and a hash-tagged pair in one slot, mixed with absent keys.
            let asked = keys + [keys[4], "{ccm:\(run)}:a", keys[1], "{ccm:\(run)}:b", keys[0]]
            try await client.set("{ccm:\(run)}:a", to: "tagged")
            let values = try await client.mget(asked).map { $0.map { String(buffer: $0) } }
            var expected: [String?] = keys.indices.map { $0.isMultiple(of: 2) ? "v\($0)" : nil }
            expected += ["v4", "tagged", nil, nil, "v0"]
            #expect(values == expected)
            let topology = try #require(client.topology)
            #expect(Set(keys.compactMap { topology.primary(forKey: $0)?.endpoint }).count == 3)
            #expect(try await client.delete(keys + ["{ccm:\(run)}:a"]) == 151)
            #expect(try await client.mget(keys).allSatisfy { $0 == nil })
            #expect(try await client.mget([]).isEmpty)
        }
    }

    @Test("Cluster client: a MOVED after a slot moved is followed, and the map refreshes")
    func clusterClientMoved() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            _ = try await client.get("warm-up")
            let key = "moved:\(UInt32.random(in: 0...UInt32.max))"
            let slot = HashSlot(key: key)
            try await withSlotMoved(cluster, key: key, topology: try #require(client.topology)) { source, target, connections in
                let refreshesBefore = client.refreshCount
                // The client still routes the slot to the source, which answers MOVED.
                #expect(client.topology?.primary(forSlot: slot)?.endpoint == source.endpoint)  // node identity, not its replication offset
                #expect(try await client.set(key, to: "moved-value"))
                #expect(try await client.get(key).map { String(buffer: $0) } == "moved-value")
                let onTarget = try await connections[target.endpoint]!.raw("GET", key)
                #expect(RESPValue(onTarget) == .bulkString("moved-value"))
                let refreshed = await eventually {
                    client.topology?.primary(forSlot: slot)?.endpoint == target.endpoint
                }
                #expect(refreshed)
                #expect(client.refreshCount > refreshesBefore)
                #expect(try await client.delete([key]) == 1)
            }
        }
    }

    @Test("Cluster client: an ASK during a migration is followed with ASKING, the map is kept")
    func clusterClientAsk() async throws {
        let cluster = try await SharedCluster.get()
        let endpoints = cluster.nodes.map(\.endpoint)
        try await withClusterClient(cluster) { client in
            let key = "ask-cc:\(UInt32.random(in: 0...UInt32.max))"
            let sibling = "{\(key)}:sibling"
            let slot = HashSlot(key: key)
            #expect(HashSlot(key: sibling) == slot)
            try await client.set(key, to: "asked")
            let topology = try #require(client.topology)
            let source = try #require(topology.primary(forSlot: slot))
            let target = try #require(topology.shards.compactMap(\.primary).first { $0 != source })
            try await withConnections(to: endpoints) { connections in
                let sourceConnection = connections[source.endpoint]!
                let targetConnection = connections[target.endpoint]!
                try await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id)
                try await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
                do {
                    let migrated = try await sourceConnection.raw(
                        "MIGRATE", target.endpoint.host, "\(target.endpoint.port)", key, "0", "5000")
                    #expect(RESPValue(migrated) == .simpleString("OK"))
                    // The source no longer has the key: it answers ASK, the client asks the target.
                    #expect(try await client.get(key).map { String(buffer: $0) } == "asked")
                    // A new key in the migrating slot is created on the target.
                    #expect(try await client.set(sibling, to: "new"))
                    let onTarget = try await targetConnection.pipeline([RawCommand(["ASKING"]), RawCommand(["GET", sibling])])
                    #expect(RESPValue(try onTarget[1].get()) == .bulkString("new"))
                    #expect(client.topology?.primary(forSlot: slot)?.endpoint == source.endpoint)  // node identity, not its replication offset
                } catch {
                    Issue.record("\(error)")
                }
                _ = try await targetConnection.pipeline([RawCommand(["ASKING"]), RawCommand(["DEL", key, sibling])])
                try await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
                try await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
                #expect(RESPValue(try await sourceConnection.raw("GET", key)) == .null)
            }
            #expect(try await client.get(key) == nil)
        }
    }
}

@Suite("Cluster client without a cluster")
struct ClusterClientFailureTests {
    @Test("Unreachable seeds: a command fails at its deadline with the refresh's error; run() ends on shutdown")
    func unreachableSeeds() async throws {
        let client = try RedisClusterClient(
            seeds: [RedisEndpoint(host: "127.0.0.1", port: 1)],
            configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1", port: 1))
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            #expect(await eventually(seconds: 10) { client.lastRefreshError != nil })
            #expect(client.lastRefreshError?.code == .connectionFailed)
            let start = ContinuousClock.now
            let error = await #expect(throws: RedisError.self) { try await client.get("k", timeout: .milliseconds(300)) }
            #expect(error?.code == .connectionFailed)
            #expect(ContinuousClock.now - start >= .milliseconds(250))
            #expect(client.topology == nil)
            client.shutdown()
            try await group.waitForAll()
        }
        let afterShutdown = await #expect(throws: RedisError.self) { try await client.get("k") }
        #expect(afterShutdown?.code == .shutdown)
        await #expect(throws: RedisError.self) { try await client.run() }
    }

    @Test("A client without seeds or with no redirects allowed is refused")
    func invalidConfiguration() {
        let configuration = RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1"))
        #expect(throws: RedisError.self) { try RedisClusterClient(seeds: [], configuration: configuration) }
        #expect(throws: RedisError.self) {
            try RedisClusterClient(seeds: [RedisEndpoint(host: "127.0.0.1")], configuration: configuration, maximumRedirects: 0)
        }
    }
}
