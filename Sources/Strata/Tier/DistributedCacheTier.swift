/// The shared tier behind the in-process tier: a byte store with per-entry time to live.
///
/// Strata encodes entries into ``CacheEnvelope`` bytes before they reach this protocol, so an
/// implementation only moves bytes (`StrataRedis` provides the Redis one). Keys arrive fully built,
/// namespace included. Implementations apply their own short deadline to every call and throw on
/// timeout; the cache treats any thrown error as "tier unavailable" and carries on without it.
public protocol DistributedCacheTier: Sendable {
    /// Reads one entry's bytes, or `nil` when the key does not exist.
    func get(_ key: String) async throws -> [UInt8]?

    /// Reads several entries at once; the result has one element per key, in the same order.
    func get(_ keys: [String]) async throws -> [[UInt8]?]

    /// Stores bytes under `key`, replacing any previous value, expiring after `timeToLive`.
    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws

    /// Removes the given keys (missing keys are ignored).
    func remove(_ keys: [String]) async throws
}
