// Which commands a replica may serve. Both replica-read paths use this one list: the cluster
// client's (`readFromReplicas`) and the Sentinel client's (`RedisSentinelConfiguration
// .readFromReplicas`). The decision is by the name a command is sent with: the typed read
// commands and the common raw ones. Anything else, including every command not listed here,
// goes to the primary, so a missing entry costs a little load and never correctness.

/// Decides whether a command may be served by a replica.
enum ReplicaReadPolicy {
    /// Commands that only read, by the name they are sent with.
    static let readOnlyCommands: Set<String> = [
        "GET", "MGET", "EXISTS", "STRLEN", "GETRANGE", "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS",
        "HVALS", "HSTRLEN", "LLEN", "LRANGE", "LINDEX", "SCARD", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "ZCARD",
        "ZSCORE", "ZRANGE", "ZRANK", "ZCOUNT", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE", "DUMP", "XRANGE",
        "XREVRANGE", "XLEN", "XREAD", "XINFO", "XPENDING",
    ]

    /// Whether `command` may be served by a replica.
    ///
    /// - Complexity: one hash lookup of the command's name.
    static func isReadOnly(_ command: any RedisCommand) -> Bool {
        readOnlyCommands.contains(ClusterPipelineStateMachine.word(command))
    }
}
