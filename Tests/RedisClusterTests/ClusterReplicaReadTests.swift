import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// Replica reads (`readFromReplicas`), against the shared cluster: which nodes serve the GETs is
// read from each node's own `INFO commandstats`.

/// How many `GET`s each node has served so far.
func getCalls(_ cluster: RedisCluster) throws -> [RedisEndpoint: Int] {
    try Dictionary(uniqueKeysWithValues: cluster.nodes.map { ($0.endpoint, try $0.commandCalls("GET")) })
}

extension LiveClusterTests {
    @Test("Cluster client: with replica reads, GETs are served by replicas and writes by primaries; off by default")
    func clusterReplicaReads() async throws {
        let cluster = try await SharedCluster.get()
        for replicaReads in [true, false] {
            try await withClusterClient(cluster, readFromReplicas: replicaReads) { client in
                _ = try await client.ping()
                let topology = try #require(client.topology)
                let primaries = Set(topology.shards.compactMap { $0.primary?.endpoint })
                let keys = spreadKeys("replica-read", 30)
                for key in keys {
                    try await client.set(key, to: "v-\(key)")
                    // Wait until a replica has the write, so that the read below must see it.
                    _ = try await client.send(RawCommand(["WAIT", "1", "2000"], keys: [key]))
                }
                let before = try getCalls(cluster)
                for key in keys {
                    #expect(try await client.get(key).map { String(buffer: $0) } == "v-\(key)")
                }
                let after = try getCalls(cluster)
                let onPrimaries = primaries.reduce(0) { $0 + after[$1, default: 0] - before[$1, default: 0] }
                let total = after.keys.reduce(0) { $0 + after[$1, default: 0] - before[$1, default: 0] }
                #expect(total == keys.count)
                #expect(onPrimaries == (replicaReads ? 0 : keys.count), "replica reads \(replicaReads)")
                #expect(try await client.delete(keys) == keys.count)
            }
        }
    }
}
