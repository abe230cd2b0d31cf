import Synchronization

/// A snapshot of a cache's counters since it was created.
public struct CacheStatistics: Sendable, Hashable {
    /// Fresh answers from the in-process tier.
    public var memoryHits: Int
    /// Lookups the in-process tier could not answer fresh.
    public var memoryMisses: Int
    /// Fresh answers from the distributed tier.
    public var distributedHits: Int
    /// Lookups the distributed tier could not answer fresh.
    public var distributedMisses: Int
    /// Loader calls that returned a value or "not found".
    public var loads: Int
    /// Loader calls that threw or timed out.
    public var loadFailures: Int
    /// Stale values returned (any reason).
    public var staleServed: Int
    /// Refreshes started ahead of expiry.
    public var refreshes: Int
    /// Callers that waited for another caller's load.
    public var singleFlightJoins: Int
    /// Distributed-tier calls that failed or were skipped by the breaker.
    public var distributedFailures: Int
    /// Entries whose bytes could not be decoded.
    public var decodeFailures: Int
    /// Invalidations received from other instances (messages).
    public var invalidationsReceived: Int = 0
    /// Times the in-process tier was flushed because invalidations may have been missed.
    public var memoryFlushes: Int = 0
    /// Fills refused because an invalidation or a newer version overtook the load.
    public var fillsRefused: Int = 0
    /// Second deletes of double deletes that ran.
    public var delayedDeletes: Int = 0
    /// Entries the in-process tier evicted to stay within its bound.
    public var memoryEvictions: Int = 0
    /// Entries refused because a tag or their namespace was invalidated after they were filled.
    public var tagInvalidations: Int = 0
    /// Entries in the in-process tier now.
    public var memoryEntries: Int = 0
    /// The distributed tier's circuit breaker now: `closed`, `open` or `half_open`; `none`
    /// without a distributed tier.
    public var breakerState: String = "none"

    /// Hits in either tier over all lookups; `nil` before the first lookup.
    public var hitRatio: Double? {
        let lookups = memoryHits + memoryMisses
        guard lookups > 0 else { return nil }
        return Double(memoryHits + distributedHits) / Double(lookups)
    }
}

/// Lock-free counters behind ``CacheStatistics``.
final class StatisticsCounters: Sendable {
    private let memoryHits = Atomic<Int>(0)
    private let memoryMisses = Atomic<Int>(0)
    private let distributedHits = Atomic<Int>(0)
    private let distributedMisses = Atomic<Int>(0)
    private let loads = Atomic<Int>(0)
    private let loadFailures = Atomic<Int>(0)
    private let staleServed = Atomic<Int>(0)
    private let refreshes = Atomic<Int>(0)
    private let singleFlightJoins = Atomic<Int>(0)
    private let distributedFailures = Atomic<Int>(0)
    private let decodeFailures = Atomic<Int>(0)
    private let invalidationsReceived = Atomic<Int>(0)
    private let memoryFlushes = Atomic<Int>(0)
    private let fillsRefused = Atomic<Int>(0)
    private let delayedDeletes = Atomic<Int>(0)
    private let memoryEvictions = Atomic<Int>(0)
    private let tagInvalidations = Atomic<Int>(0)

    func count(_ event: CacheEvent) {
        switch event {
        case .hit(.memory, _): memoryHits.wrappingAdd(1, ordering: .relaxed)
        case .hit(.distributed, _): distributedHits.wrappingAdd(1, ordering: .relaxed)
        case .miss(.memory, _): memoryMisses.wrappingAdd(1, ordering: .relaxed)
        case .miss(.distributed, _): distributedMisses.wrappingAdd(1, ordering: .relaxed)
        case .loadCompleted(_, .loaded, _), .loadCompleted(_, .notFound, _): loads.wrappingAdd(1, ordering: .relaxed)
        case .loadCompleted: loadFailures.wrappingAdd(1, ordering: .relaxed)
        case .refreshStarted: refreshes.wrappingAdd(1, ordering: .relaxed)
        case .staleServed: staleServed.wrappingAdd(1, ordering: .relaxed)
        case .singleFlightJoined: singleFlightJoins.wrappingAdd(1, ordering: .relaxed)
        case .distributedTierFailed: distributedFailures.wrappingAdd(1, ordering: .relaxed)
        case .decodeFailed: decodeFailures.wrappingAdd(1, ordering: .relaxed)
        case .invalidationReceived: invalidationsReceived.wrappingAdd(1, ordering: .relaxed)
        case .memoryFlushed: memoryFlushes.wrappingAdd(1, ordering: .relaxed)
        case .fillRefused: fillsRefused.wrappingAdd(1, ordering: .relaxed)
        case .delayedDeleteCompleted: delayedDeletes.wrappingAdd(1, ordering: .relaxed)
        case .memoryEvicted: memoryEvictions.wrappingAdd(1, ordering: .relaxed)
        case .tagInvalidated: tagInvalidations.wrappingAdd(1, ordering: .relaxed)
        case .breakerChanged, .invalidationPublished, .invalidationPublishFailed, .tagEpochAdvanced, .tagEpochRefreshFailed: break
        }
    }

    func snapshot() -> CacheStatistics {
        CacheStatistics(
            memoryHits: memoryHits.load(ordering: .relaxed),
            memoryMisses: memoryMisses.load(ordering: .relaxed),
            distributedHits: distributedHits.load(ordering: .relaxed),
            distributedMisses: distributedMisses.load(ordering: .relaxed),
            loads: loads.load(ordering: .relaxed),
            loadFailures: loadFailures.load(ordering: .relaxed),
            staleServed: staleServed.load(ordering: .relaxed),
            refreshes: refreshes.load(ordering: .relaxed),
            singleFlightJoins: singleFlightJoins.load(ordering: .relaxed),
            distributedFailures: distributedFailures.load(ordering: .relaxed),
            decodeFailures: decodeFailures.load(ordering: .relaxed),
            invalidationsReceived: invalidationsReceived.load(ordering: .relaxed),
            memoryFlushes: memoryFlushes.load(ordering: .relaxed),
            fillsRefused: fillsRefused.load(ordering: .relaxed),
            delayedDeletes: delayedDeletes.load(ordering: .relaxed),
            memoryEvictions: memoryEvictions.load(ordering: .relaxed),
            tagInvalidations: tagInvalidations.load(ordering: .relaxed)
        )
    }
}

/// Where every event goes: the always-on counters and the configured observer.
struct CacheEventSink: Sendable {
    let counters: StatisticsCounters
    let observer: any CacheObserver

    func record(_ event: CacheEvent) {
        counters.count(event)
        observer.record(event)
    }
}
