// Replica reads (off by default). With `readFromReplicas`, every node client's connections send
// READONLY, so a replica serves reads of its primary's slots; a read-only command without a
// redirect in hand goes to a random healthy replica of its slot's shard (the primary when there is
// none). Redis replicates asynchronously, so such a read may miss a write acknowledged just
// before. Which commands are reads is ReplicaReadPolicy's decision, shared with Sentinel.

extension RedisClusterClient {
    /// A random healthy replica serving `slot` in `topology`, or its primary when it has none.
    static func readEndpoint(for slot: HashSlot, in topology: ClusterTopology) -> RedisEndpoint? {
        guard let shard = topology.shard(forSlot: slot) else { return nil }
        return shard.routableReplicas.randomElement()?.endpoint ?? topology.primary(forSlot: slot)?.endpoint
    }
}
