import Logging

/// The distributed tier as the cache sees it: calls that never throw, skipped while the circuit
/// breaker is open, every failure counted.
struct DistributedTierGuard: Sendable {
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

    func get(_ key: String, now: CacheInstant, record: (CacheEvent) -> Void) async -> ReadResult {
        guard let permit = breaker.shouldAttempt(now: now) else {
            record(.distributedTierFailed(.get, breakerOpen: true))
            return .unavailable
        }
        do {
            let bytes = try await tier.get(key)
            breaker.recordSuccess(permit, now: now)
            return bytes.map { .found($0) } ?? .notFound
        } catch {
            breaker.recordFailure(permit, now: now)
            record(.distributedTierFailed(.get, breakerOpen: false))
            return .unavailable
        }
    }

    func get(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> [ReadResult] {
        guard let permit = breaker.shouldAttempt(now: now) else {
            record(.distributedTierFailed(.get, breakerOpen: true))
            return Array(repeating: .unavailable, count: keys.count)
        }
        do {
            let values = try await tier.get(keys)
            breaker.recordSuccess(permit, now: now)
            return values.map { $0.map { .found($0) } ?? .notFound }
        } catch {
            breaker.recordFailure(permit, now: now)
            record(.distributedTierFailed(.get, breakerOpen: false))
            return Array(repeating: .unavailable, count: keys.count)
        }
    }

    /// - Returns: whether the write reached the tier.
    func set(_ key: String, value: [UInt8], timeToLive: Duration, now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        guard let permit = breaker.shouldAttempt(now: now) else {
            record(.distributedTierFailed(.set, breakerOpen: true))
            return false
        }
        do {
            try await tier.set(key, value: value, timeToLive: timeToLive)
            breaker.recordSuccess(permit, now: now)
            return true
        } catch {
            breaker.recordFailure(permit, now: now)
            record(.distributedTierFailed(.set, breakerOpen: false))
            return false
        }
    }

    /// - Returns: whether the removal reached the tier.
    func remove(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        guard let permit = breaker.shouldAttempt(now: now) else {
            record(.distributedTierFailed(.remove, breakerOpen: true))
            return false
        }
        do {
            try await tier.remove(keys)
            breaker.recordSuccess(permit, now: now)
            return true
        } catch {
            breaker.recordFailure(permit, now: now)
            record(.distributedTierFailed(.remove, breakerOpen: false))
            return false
        }
    }
}
