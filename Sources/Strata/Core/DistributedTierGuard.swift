/// The distributed tier as the cache sees it: calls that never throw, skipped while the circuit
/// breaker is open, every failure counted.
struct DistributedTierGuard: Sendable {
    enum ReadResult: Sendable {
        case found([UInt8])
        case notFound
        case unavailable
    }

    let tier: any DistributedCacheTier
    let breaker = BreakerStub()

    func get(_ key: String, now: CacheInstant, record: (CacheEvent) -> Void) async -> ReadResult {
        guard breaker.allows(now: now) else {
            record(.distributedTierFailed(.get, breakerOpen: true))
            return .unavailable
        }
        do {
            let bytes = try await tier.get(key)
            breaker.record(success: true, now: now)
            return bytes.map { .found($0) } ?? .notFound
        } catch {
            breaker.record(success: false, now: now)
            record(.distributedTierFailed(.get, breakerOpen: false))
            return .unavailable
        }
    }

    func get(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> [ReadResult] {
        guard breaker.allows(now: now) else {
            record(.distributedTierFailed(.get, breakerOpen: true))
            return Array(repeating: .unavailable, count: keys.count)
        }
        do {
            let values = try await tier.get(keys)
            breaker.record(success: true, now: now)
            return values.map { $0.map { .found($0) } ?? .notFound }
        } catch {
            breaker.record(success: false, now: now)
            record(.distributedTierFailed(.get, breakerOpen: false))
            return Array(repeating: .unavailable, count: keys.count)
        }
    }

    /// - Returns: whether the write reached the tier.
    func set(_ key: String, value: [UInt8], timeToLive: Duration, now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        guard breaker.allows(now: now) else {
            record(.distributedTierFailed(.set, breakerOpen: true))
            return false
        }
        do {
            try await tier.set(key, value: value, timeToLive: timeToLive)
            breaker.record(success: true, now: now)
            return true
        } catch {
            breaker.record(success: false, now: now)
            record(.distributedTierFailed(.set, breakerOpen: false))
            return false
        }
    }

    /// - Returns: whether the removal reached the tier.
    func remove(_ keys: [String], now: CacheInstant, record: (CacheEvent) -> Void) async -> Bool {
        guard breaker.allows(now: now) else {
            record(.distributedTierFailed(.remove, breakerOpen: true))
            return false
        }
        do {
            try await tier.remove(keys)
            breaker.record(success: true, now: now)
            return true
        } catch {
            breaker.record(success: false, now: now)
            record(.distributedTierFailed(.remove, breakerOpen: false))
            return false
        }
    }
}
