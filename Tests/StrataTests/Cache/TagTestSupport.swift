import Synchronization

@testable import Strata

/// A distributed tier held in memory that also keeps tag epochs, with a switch that fails both.
final class FakeTaggedTier: DistributedCacheTier, TagEpochStore {
    let values = FakeDistributedTier()
    private let epochCounters = Mutex<[String: Int64]>([:])
    private let epochReads = Atomic<Int>(0)

    var failing: Bool {
        get { values.failing }
        set { values.failing = newValue }
    }
    /// How many times epochs were read (first uses and refreshes).
    var epochReadCount: Int { epochReads.load(ordering: .relaxed) }
    func epoch(of tag: String) -> Int64 { epochCounters.withLock { $0[tag] ?? 0 } }
    /// Advances an epoch behind every cache's back (as another instance whose message was lost).
    func bumpSilently(_ tag: String) { epochCounters.withLock { $0[tag, default: 0] += 1 } }

    func get(_ key: String) async throws -> [UInt8]? { try await values.get(key) }
    func get(_ keys: [String]) async throws -> [[UInt8]?] { try await values.get(keys) }
    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws {
        try await values.set(key, value: value, timeToLive: timeToLive)
    }
    func remove(_ keys: [String]) async throws { try await values.remove(keys) }

    func epochs(of tags: [String]) async throws -> [Int64] {
        if failing { throw FakeDistributedTier.Down() }
        epochReads.wrappingAdd(1, ordering: .relaxed)
        return epochCounters.withLock { counters in tags.map { counters[$0] ?? 0 } }
    }

    func advanceEpoch(of tag: String, above floor: Int64) async throws -> Int64 {
        if failing { throw FakeDistributedTier.Down() }
        return epochCounters.withLock { counters in
            let next = max(counters[tag] ?? 0, floor) + 1
            counters[tag] = next
            return next
        }
    }
}
