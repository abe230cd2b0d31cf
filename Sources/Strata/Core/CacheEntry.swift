/// What the cache knows about one entry, whichever tier it came from.
struct EntryMetadata: Sendable, Hashable {
    /// When the value was loaded.
    var createdAt: CacheInstant
    /// Until when the value is fresh (logical expiry).
    var freshUntil: CacheInstant
    /// Until when the value may be served stale (physical expiry).
    var staleUntil: CacheInstant
    /// How long the load took (XFetch's Δ).
    var recompute: Duration
    /// The source of truth's version of the value, when known.
    var dataVersion: Int64?
    /// The epochs of the entry's tags (its namespace's first) when it was filled.
    var tagStamps: [TagStamp] = []
}

/// A value (or a cached "not found") with its metadata; the unit single-flight hands out.
struct ResolvedEntry: Sendable {
    /// The value; `nil` is a cached "not found".
    var value: (any Sendable)?
    var metadata: EntryMetadata

    func value<Value>(as type: Value.Type) -> Value? { value as? Value }
}

/// The in-process tier's record: the entry plus how long this process trusts its copy.
///
/// A class, so that the in-process tier's slots hold one reference: every lookup copies the slot
/// it reads, and copying a struct that holds an existential goes through value witnesses (about
/// 100 ns of an in-process hit). Costs one allocation per store instead.
final class MemoryEntry: Sendable {
    let resolved: ResolvedEntry
    /// Until when the in-process copy answers without asking the distributed tier.
    let localFreshUntil: CacheInstant

    init(resolved: ResolvedEntry, localFreshUntil: CacheInstant) {
        self.resolved = resolved
        self.localFreshUntil = localFreshUntil
    }
}

typealias ErasedLoader = @Sendable () async throws -> (any Sendable)?

/// Thrown by the cache's own hard-timeout timer (never escapes: mapped to ``CacheError``).
struct LoaderHardTimeout: Error {}

/// Completes a flight so that the waiter loops and loads in its own task (no `run()` to host it).
struct InlineLoadRequired: Error {}

/// A flight's conditional fill was refused: a write overtook the load. Waiters start over.
struct FlightOvertaken: Error {
    let entry: ResolvedEntry
}
