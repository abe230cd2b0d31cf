/// One reading of a Redis server's health numbers, from `INFO memory`, `INFO stats` and
/// `INFO clients`: the pure part of ``RedisHealth``.
public struct RedisHealthReading: Sendable, Hashable {
    /// `used_memory`, bytes.
    public var usedMemory: Double?
    /// `maxmemory`, bytes; 0 when unset.
    public var maxmemory: Double?
    /// `mem_fragmentation_ratio`.
    public var fragmentationRatio: Double?
    /// `allocator_frag_ratio`.
    public var allocatorFragmentationRatio: Double?
    /// `evicted_keys` since the server started.
    public var evictedKeys: Double?
    /// `connected_clients`.
    public var connectedClients: Double?
    /// `instantaneous_ops_per_sec`.
    public var operationsPerSecond: Double?
    /// `keyspace_hits` since the server started.
    public var keyspaceHits: Double?
    /// `keyspace_misses` since the server started.
    public var keyspaceMisses: Double?

    /// Reads the fields of one or more `INFO` sections merged together; absent or non-numeric
    /// fields stay `nil` (and their gauges are not updated).
    public init(info: [String: String]) {
        func number(_ field: String) -> Double? { info[field].flatMap { Double($0) } }
        usedMemory = number("used_memory")
        maxmemory = number("maxmemory")
        fragmentationRatio = number("mem_fragmentation_ratio")
        allocatorFragmentationRatio = number("allocator_frag_ratio")
        evictedKeys = number("evicted_keys")
        connectedClients = number("connected_clients")
        operationsPerSecond = number("instantaneous_ops_per_sec")
        keyspaceHits = number("keyspace_hits")
        keyspaceMisses = number("keyspace_misses")
    }

    /// Keyspace hits over lookups since `previous` (or since the server started without one);
    /// `nil` when there was no lookup in between, or after a restart reset the counters.
    public func keyspaceHitRatio(since previous: RedisHealthReading?) -> Double? {
        guard let hits = keyspaceHits, let misses = keyspaceMisses else { return nil }
        let hitDelta = hits - (previous?.keyspaceHits ?? 0)
        let missDelta = misses - (previous?.keyspaceMisses ?? 0)
        guard hitDelta >= 0, missDelta >= 0, hitDelta + missDelta > 0 else { return nil }
        return hitDelta / (hitDelta + missDelta)
    }
}
