import Logging

/// The distributed tier as the cache sees it: calls that never throw, skipped while the circuit
/// breaker is open, every failure counted.
///
/// A class: the hit path copies the cache's guard, and copying a struct that holds an existential
/// goes through value witnesses.
final class DistributedTierGuard: Sendable {
    enum ReadResult: Sendable {
        case found([UInt8])
        case notFound
        case unavailable
    }

    let tier: any DistributedCacheTier
    let breaker: SharedCircuitBreaker

    init(
        tier: any DistributedCacheTier, breaker configuration: CircuitBreaker.Configuration,
        events: CacheEventSink, logger: Logger
    ) throws(CacheError) {
        self.tier = tier
        do {
            breaker = try SharedCircuitBreaker(configuration: configuration) { transition in
                let open = if case .open = transition.to { true } else { false }
                events.record(.breakerChanged(open: open))
                if open {
                    logger.warning(
                        "distributed tier breaker opened: serving from memory and the loader until it recovers",
                        metadata: ["reason": "\(transition.reason)"])
                } else if case .closed = transition.to {
                    logger.notice("distributed tier breaker closed: the tier answers again")
                }
            }
        } catch {
            throw CacheError(.invalidConfiguration, "breaker: \(error)", underlying: error)
        }
    }

    /// Runs one tier call under the breaker; `nil` when it was skipped or failed (both counted).
    nonisolated(nonsending) func call<Result>(
        _ operation: CacheEvent.TierOperation, now: CacheInstant, record: (CacheEvent) -> Void,
        _ body: nonisolated(nonsending) () async throws -> Result
    ) async -> Result? {
        guard let permit = breaker.shouldAttempt(now: now) else {
            record(.distributedTierFailed(operation, breakerOpen: true))
            return nil
        }
        do {
            let result = try await body()
            breaker.recordSuccess(permit, now: now)
            return result
        } catch {
            breaker.recordFailure(permit, now: now)
            record(.distributedTierFailed(operation, breakerOpen: false))
            return nil
        }
    }

    nonisolated(nonsending) func get(_ key: String, now: CacheInstant, record: (CacheEvent) -> Void) async -> ReadResult {
        guard let bytes = await call(.get, now: now, record: record, { try await tier.get(key) }) else { return .unavailable }
        return bytes.map { .found($0) } ?? .notFound
    }

    func get(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> [ReadResult] {
        guard let values = await call(.get, now: now, record: record, { try await tier.get(keys) }) else {
            return Array(repeating: .unavailable, count: keys.count)
        }
        return values.map { $0.map { .found($0) } ?? .notFound }
    }

    /// - Returns: whether the write reached the tier.
    func set(_ key: String, value: [UInt8], timeToLive: Duration, now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        await call(.set, now: now, record: record, { try await tier.set(key, value: value, timeToLive: timeToLive) }) != nil
    }

    /// - Returns: whether the removal reached the tier.
    func remove(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        await call(.remove, now: now, record: record, { try await tier.remove(keys) }) != nil
    }
}
