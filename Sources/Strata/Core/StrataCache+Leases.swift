/// Leases and conditional fills: the read path's protection against stale sets.
extension StrataCache {
    /// How a load's result may be written to the distributed tier.
    enum FillMode: Equatable {
        /// A plain write (conditional on the data version when the namespace reports one).
        case plain
        /// Only while this lease token is still valid.
        case lease(String)
        /// Not at all: loaded without a lease after waiting for someone else's fill.
        case none
    }

    enum LeaseDecision {
        case answered(ResolvedEntry)
        case load(FillMode)
    }

    /// After a distributed miss (or for a refresh) with leases on: take the lease, or wait for the
    /// holder's fill, or serve the stale copy the options allow.
    func leaseDecision<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, candidate: ResolvedEntry?, refreshing: Bool, stamp: RemovalStamp?
    ) async -> LeaseDecision {
        guard options.coherence.leases, let coherentTier, let distributed else { return .load(.plain) }
        let namespace = key.namespace.name
        let token = Self.makeLeaseToken()
        let deadline = ContinuousClock.now.advanced(by: options.coherence.maximumLeaseWait)
        var forRefresh = refreshing
        while true {
            let now = clock.now
            let acquired = await distributed.call(.get, now: now, record: record) {
                try await coherentTier.acquireLease(
                    key.storageKey, token: token, leaseTime: options.coherence.leaseTime, forRefresh: forRefresh)
            }
            guard let acquired else {
                // The tier failed: load, but write nothing a lease did not protect.
                return .load(.none)
            }
            switch acquired {
            case .granted:
                return .load(.lease(token))
            case .present(let bytes):
                if case .found(let entry) = await decode(.found(bytes), key: key), now < entry.metadata.freshUntil {
                    record(.hit(.distributed, namespace: namespace))
                    storeInMemory(key: key, entry: entry, options: options, now: now, unlessRemovedSince: stamp)
                    return .answered(entry)
                }
                // Present but stale: refresh it under a lease.
                forRefresh = true
            case .heldByAnother(let remaining):
                if refreshing, let candidate { return .answered(candidate) }
                if let candidate, now < candidate.metadata.freshUntil.advanced(by: options.staleness.whileRevalidate) {
                    record(.staleServed(namespace: namespace, reason: .whileRevalidate))
                    return .answered(candidate)
                }
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { return .load(.none) }
                await coherentTier.waitForFill(key.storageKey, timeout: min(max(remaining, .milliseconds(1)), left))
                if case .found(let entry) = await readDistributed(key: key), clock.now < entry.metadata.freshUntil {
                    record(.hit(.distributed, namespace: namespace))
                    storeInMemory(key: key, entry: entry, options: options, now: clock.now, unlessRemovedSince: stamp)
                    return .answered(entry)
                }
            }
        }
    }

    /// Writes through the coherent tier's conditional fill; refusals are counted, never errors.
    func conditionalFill<Value: Sendable>(
        _ tier: any CoherentCacheTier, key: CacheKey<Value>, bytes: [UInt8], timeToLive: Duration, version: Int64?,
        leaseToken: String?
    ) async -> FillOutcome? {
        guard let distributed else { return nil }
        let outcome = await distributed.call(.set, now: clock.now, record: record) {
            try await tier.fill(key.storageKey, value: bytes, timeToLive: timeToLive, version: version, leaseToken: leaseToken)
        }
        if let outcome, outcome != .stored { record(.fillRefused(namespace: key.namespace.name, outcome: outcome)) }
        return outcome
    }

    /// Runs the tier's fill notifications (lease waiters' wake-ups) until cancelled.
    func runFillNotifications(_ tier: any CoherentCacheTier) async {
        // A lost subscription costs waiters only their bounded wait, so failures are not logged.
        await retryingUntilCancelled { try await tier.runFillNotifications() }
    }

    /// 128 random bits, hex-encoded.
    static func makeLeaseToken() -> String {
        let high = UInt64.random(in: .min ... .max)
        let low = UInt64.random(in: .min ... .max)
        return String(high, radix: 16) + "-" + String(low, radix: 16)
    }
}
