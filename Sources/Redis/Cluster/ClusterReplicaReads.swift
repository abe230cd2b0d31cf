// Replica reads (off by default). With `readFromReplicas`, every node client's connections send
// READONLY, so a replica serves reads of its primary's slots; a read-only command without a
// redirect in hand goes to a random healthy replica of its slot's shard (the primary when there is
// none). Redis replicates asynchronously, so such a read may miss a write acknowledged just
// before. Which commands are reads is decided by name: the typed commands and the common raw
// ones; anything else goes to the primary.

extension RedisClusterClient {
    /// Commands that only read, by the name they are sent with.
    static let readOnlyCommands: Set<String> = [
        "GET", "MGET", "EXISTS", "STRLEN", "GETRANGE", "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS",
        "HVALS", "HSTRLEN", "LLEN", "LRANGE", "LINDEX", "SCARD", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "ZCARD",
        "ZSCORE", "ZRANGE", "ZRANK", "ZCOUNT", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE", "DUMP", "XRANGE",
        "XREVRANGE", "XLEN", "XREAD", "XINFO", "XPENDING",
    ]

    /// Whether `command` may be served by a replica.
    static func isReadOnly(_ command: any RedisCommand) -> Bool {
        readOnlyCommands.contains(ClusterPipelineStateMachine.word(command))
    }

    /// A random healthy replica serving `slot` in `topology`, or its primary when it has none.
    static func readEndpoint(for slot: HashSlot, in topology: ClusterTopology) -> RedisEndpoint? {
        guard let shard = topology.shard(forSlot: slot) else { return nil }
        return shard.routableReplicas.randomElement()?.endpoint ?? topology.primary(forSlot: slot)?.endpoint
    }
}
