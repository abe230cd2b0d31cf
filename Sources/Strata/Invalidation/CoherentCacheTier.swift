/// A distributed tier that can make fills conditional, so a value read from the source before a
/// write can never land in the cache after that write's invalidation.
///
/// Two mechanisms, usable together:
/// - **Leases** (Facebook's memcache, NSDI 2013): on a miss one caller gets a lease token; only a
///   fill carrying a still-valid token is stored; an invalidation deletes the lease, so a fill that
///   read the source before the write is refused.
/// - **Versions**: a fill carrying the source's data version is refused when the stored value or
///   the last invalidated version (a watermark that outlives the lease) is newer.
public protocol CoherentCacheTier: DistributedCacheTier {
    /// Tries to take the fill lease for `key`.
    ///
    /// - Parameter forRefresh: take the lease even though a value exists (an early or stale refresh);
    ///   otherwise an existing value is returned instead.
    func acquireLease(_ key: String, token: String, leaseTime: Duration, forRefresh: Bool) async throws -> LeaseAcquisition

    /// Stores `value` only if the lease (when given) is still held and no newer version (when
    /// given) is stored or was invalidated. Releases the lease and wakes waiters when stored or
    /// refused as older (a lost lease is someone else's, or already gone).
    func fill(_ key: String, value: [UInt8], timeToLive: Duration, version: Int64?, leaseToken: String?) async throws -> FillOutcome

    /// Deletes the value and any lease (waking the lease's waiters); with a version, raises the
    /// key's watermark to it.
    func invalidate(_ key: String, version: Int64?) async throws

    /// Raises the key's watermark to `version` (never lowers it) and leaves the value and any
    /// lease alone: later fills older than `version` are refused. For write-behind, where the
    /// cache already holds the new value but the source still holds the old one.
    func raiseWatermark(_ key: String, to version: Int64) async throws

    /// Returns when a fill of `key` lands or `timeout` passes, whichever is first.
    func waitForFill(_ key: String, timeout: Duration) async

    /// Delivers fill notifications to ``waitForFill(_:timeout:)`` until cancelled.
    func runFillNotifications() async throws
}

/// The answer to a lease request.
public enum LeaseAcquisition: Sendable, Hashable {
    /// A value is already there (bytes of its envelope).
    case present([UInt8])
    /// This caller holds the lease and should load and fill.
    case granted
    /// Another caller holds it for about this much longer.
    case heldByAnother(remaining: Duration)
}

/// What happened to a conditional fill.
public enum FillOutcome: String, Sendable, Hashable {
    /// Stored.
    case stored
    /// Refused: the lease was invalidated or expired.
    case leaseLost = "lease_lost"
    /// Refused: an invalidation announced a newer version.
    case olderThanInvalidated = "older_than_invalidated"
    /// Refused: a newer version is stored.
    case olderThanStored = "older_than_stored"
}
