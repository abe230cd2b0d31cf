import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// Replica reads (`readFromReplicas`), against the shared cluster: which nodes serve the GETs is
// read from each node's own `INFO commandstats`.

/// How many `GET`s each node has served so far.
func getCalls(_ cluster: RedisCluster) throws -> [RedisEndpoint: Int] {
    var calls: [RedisEndpoint: Int] = [:]
    for node in cluster.nodes {
        guard case .bulk(let text?) = try node.command("INFO", "commandstats") else { continue }
        let line = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_get:") }
        let field = line?.split(separator: ",").first { $0.hasPrefix("cmdstat_get:calls=") }
        calls[node.endpoint] = field.flatMap { Int($0.dropFirst("cmdstat_get:calls=".count)) } ?? 0
    }
    return calls
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
