import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// The cluster client's answers to the cluster's unhappy replies, provoked on the shared cluster
// by hand (slot states, deleted slots) and restored before each test returns.

/// The source and another primary for `key`'s slot, from the client's map.
func sourceAndTarget(_ client: RedisClusterClient, key: String) throws -> (source: ClusterNode, target: ClusterNode) {
    let topology = try #require(client.topology)
    let source = try #require(topology.primary(forKey: key))
    let target = try #require(topology.shards.compactMap(\.primary).first { $0 != source })
    return (source, target)
}

extension LiveClusterTests {
    @Test("Cluster client: an ASK/MOVED loop ends with tooManyRedirects after the cap")
    func clusterRedirectCap() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let key = spreadKeys("cap", 1)[0]
            let (source, target) = try sourceAndTarget(client, key: key)
            let slot = HashSlot(key: key)
            // MIGRATING on the source without IMPORTING on the target: the source answers ASK
            // for a missing key, the target answers MOVED back to the source.
            try await withConnection(to: source.endpoint) { connection in
                try await connection.raw("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
                let before = client.redirectStatistics
                let error = await #expect(throws: RedisError.self) { try await client.get(key, timeout: .seconds(10)) }
                #expect(error?.code == .tooManyRedirects)
                #expect(error?.description.contains(key) == false)
                let after = client.redirectStatistics
                #expect(after.ask > before.ask && after.moved > before.moved)
                #expect(after.ask - before.ask + after.moved - before.moved == client.maximumRedirects + 1)
                try await connection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
            }
            #expect(try await client.get(key) == nil)
        }
    }

    @Test("Cluster client: TRYAGAIN during a migration is retried until the migration completes")
    func clusterTryAgain() async throws {
        let cluster = try await SharedCluster.get()
        let endpoints = cluster.nodes.map(\.endpoint)
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let tag = spreadKeys("tryagain", 1)[0]
            let present = "{\(tag)}:present", absent = "{\(tag)}:absent"
            let slot = HashSlot(key: present)
            let (source, target) = try sourceAndTarget(client, key: present)
            let primaries = try #require(client.topology).shards.compactMap(\.primary)
            try await client.set(present, to: "here")
            try await withConnections(to: endpoints) { connections in
                let sourceConnection = connections[source.endpoint]!, targetConnection = connections[target.endpoint]!
                try await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id)
                try await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
                do {
                    // One key on the source, one nowhere: the source answers TRYAGAIN until the
                    // slot has moved.
                    let before = client.redirectStatistics.tryAgain
                    try await withThrowingTaskGroup(of: [ByteBuffer?].self) { group in
                        group.addTask { try await client.mget([present, absent], timeout: .seconds(20)) }
                        let retried = await eventually(seconds: 10) { client.redirectStatistics.tryAgain > before }
                        #expect(retried)
                        try await sourceConnection.raw(
                            "MIGRATE", target.endpoint.host, "\(target.endpoint.port)", present, "0", "5000")
                        try await assignSlot(slot, to: target, primaries: primaries, connections: connections)
                        let values = try await group.next()
                        #expect(values?.map { $0.map { String(buffer: $0) } } == ["here", nil])
                    }
                } catch {
                    Issue.record("\(error)")
                }
                _ = try? await targetConnection.raw("DEL", present)
                _ = try? await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
                _ = try? await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
                if try await allNodesAgree(cluster, slot: slot, owner: target.endpoint) {
                    try await moveEmptySlot(slot, from: target, to: source, primaries: primaries, connections: connections)
                }
            }
            let restored = try await eventually(seconds: 10) {
                try await allNodesAgree(cluster, slot: slot, owner: source.endpoint)
            }
            #expect(restored, "slot \(slot) back on its owner on every node")
        }
    }

    @Test("Cluster client: CLUSTERDOWN fails with clusterDown by the caller's deadline, and recovers")
    func clusterDown() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let key = spreadKeys("down", 1)[0]
            let slot = HashSlot(key: key)
            let (source, _) = try sourceAndTarget(client, key: key)
            try await withConnection(to: source.endpoint) { connection in
                // Only this slot goes down (full coverage off on its owner, for the test's duration).
                try await connection.raw("CONFIG", "SET", "cluster-require-full-coverage", "no")
                try await connection.raw("CLUSTER", "DELSLOTS", "\(slot)")
                let before = client.redirectStatistics.clusterDown
                let start = ContinuousClock.now
                let error = await #expect(throws: RedisError.self) { try await client.get(key, timeout: .milliseconds(800)) }
                let elapsed = ContinuousClock.now - start
                #expect(error?.code == .clusterDown)
                #expect(elapsed >= .milliseconds(700))
                #expect(elapsed < .seconds(5), "a call must end near its deadline, not hang")
                #expect(client.redirectStatistics.clusterDown > before)
                try await connection.raw("CLUSTER", "ADDSLOTS", "\(slot)")
                try await connection.raw("CONFIG", "SET", "cluster-require-full-coverage", "yes")
            }
            let served = await eventually(seconds: 10) {
                (try? await client.set(key, to: "up", timeout: .milliseconds(500))) == true
            }
            #expect(served)
            _ = try await client.delete([key])
        }
    }
}
