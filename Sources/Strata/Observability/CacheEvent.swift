/// Something that happened in a cache, reported to a ``CacheObserver``.
///
/// Events carry the namespace name (a small, developer-chosen set) and never a key: keys carry
/// user identifiers and would explode metric cardinality.
public enum CacheEvent: Sendable, Hashable {
    /// Which tier answered or missed.
    public enum Tier: String, Sendable, Hashable, CaseIterable {
        case memory, distributed
    }

    /// How a load ended.
    public enum LoadOutcome: String, Sendable, Hashable, CaseIterable {
        case loaded, notFound = "not_found", failed, timedOut = "timed_out"
    }

    /// Why a stale value was returned instead of a fresh one.
    public enum StaleReason: String, Sendable, Hashable, CaseIterable {
        /// Inside the stale-while-revalidate window; a refresh runs in the background.
        case whileRevalidate = "while_revalidate"
        /// The loader threw; fail-safe served the last good value.
        case loaderFailed = "loader_failed"
        /// The loader hit its hard timeout; fail-safe served the last good value.
        case loaderTimedOut = "loader_timed_out"
        /// The loader passed its soft timeout; it keeps running in the background.
        case softTimeout = "soft_timeout"
    }

    /// Why a refresh started before the entry expired.
    public enum RefreshReason: String, Sendable, Hashable, CaseIterable {
        case xfetch, refreshAhead = "refresh_ahead", staleWhileRevalidate = "stale_while_revalidate"
    }

    /// What the distributed tier was asked to do when it failed.
    public enum TierOperation: String, Sendable, Hashable, CaseIterable {
        case get, set, remove
    }

    /// The value was found fresh in `tier`.
    case hit(Tier, namespace: String)
    /// The value was not found (or not fresh) in `tier`.
    case miss(Tier, namespace: String)
    /// A loader call finished.
    case loadCompleted(namespace: String, outcome: LoadOutcome, duration: Duration)
    /// A refresh was started ahead of expiry.
    case refreshStarted(namespace: String, reason: RefreshReason)
    /// A stale value was returned.
    case staleServed(namespace: String, reason: StaleReason)
    /// A caller waited for a load another caller had started instead of loading itself.
    case singleFlightJoined(namespace: String)
    /// The distributed tier threw (timeout, connection loss) or was skipped because its breaker is open.
    case distributedTierFailed(TierOperation, breakerOpen: Bool)
    /// Cached bytes could not be decoded; treated as a miss.
    case decodeFailed(namespace: String)
    /// The distributed tier's circuit breaker changed state.
    case breakerChanged(open: Bool)
    /// This instance announced that `keys` entries changed.
    case invalidationPublished(keys: Int)
    /// An announcement could not be sent.
    case invalidationPublishFailed
    /// Another instance's announcement evicted `keys` entries here.
    case invalidationReceived(keys: Int)
    /// The whole in-process tier was dropped because invalidations may have been missed.
    case memoryFlushed(reason: InvalidationEvent.FlushReason)
    /// A conditional fill was refused (an invalidation or a newer version overtook the load).
    case fillRefused(namespace: String, outcome: FillOutcome)
    /// The second delete of a double delete ran.
    case delayedDeleteCompleted(namespace: String)
    /// The in-process tier evicted an entry to stay within its bound.
    case memoryEvicted
    /// An entry was refused because one of its tags (or its namespace) was invalidated after it
    /// was filled; treated as a miss. Never carries the tag: tags may hold user identifiers.
    case tagInvalidated(namespace: String)
    /// This instance advanced a tag's epoch (``StrataCache/invalidate(tag:)`` or ``StrataCache/clear(_:)``).
    case tagEpochAdvanced
    /// Refetching the known tag epochs failed; entries are judged by what was known before.
    case tagEpochRefreshFailed
}

/// Receives every ``CacheEvent`` of a cache. Called inline on the hot path: keep it cheap and
/// non-blocking.
public protocol CacheObserver: Sendable {
    /// Records one event.
    func record(_ event: CacheEvent)
}

/// An observer that ignores everything.
public struct NoCacheObserver: CacheObserver {
    /// Creates the observer.
    public init() {}
    public func record(_ event: CacheEvent) {}
}
