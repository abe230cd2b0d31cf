import Synchronization

/// Callers waiting for another caller's fill of a key, woken by fill notifications or their timeout.
///
/// A caller learns that another holds the lease, then starts waiting; a notice that lands in
/// between would be missed and cost the whole wait. So a notice nobody was waiting for is kept
/// for ``unclaimedWakeLifetime`` and ends the next wait for its key at once (the waiter then reads
/// the key again: at worst one extra round trip).
final class FillWaiters: Sendable {
    /// How long a notice that found no waiter still ends a wait that starts after it.
    static let unclaimedWakeLifetime: Duration = .seconds(1)
    /// Above this many kept notices, expired ones are dropped (then all, if none had expired).
    static let unclaimedWakeLimit = 4_096

    private struct State {
        var nextID: UInt64 = 0
        var waiting: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Waits that ended (timed out) before their continuation was registered.
        var ended: Set<UInt64> = []
        /// Notices that found no waiter, by key, with when they came.
        var unclaimed: [String: ContinuousClock.Instant] = [:]

        mutating func keepUnclaimed(_ key: String, at now: ContinuousClock.Instant) {
            unclaimed[key] = now
            guard unclaimed.count > FillWaiters.unclaimedWakeLimit else { return }
            unclaimed = unclaimed.filter { now - $0.value < FillWaiters.unclaimedWakeLifetime }
            if unclaimed.count > FillWaiters.unclaimedWakeLimit { unclaimed.removeAll() }
        }

        /// Whether a recent notice for `key` ends a wait starting now (it is used up).
        mutating func claimRecentWake(_ key: String, at now: ContinuousClock.Instant) -> Bool {
            guard let woken = unclaimed.removeValue(forKey: key) else { return false }
            return now - woken < FillWaiters.unclaimedWakeLifetime
        }
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> ContinuousClock.Instant

    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    func wait(for key: String, timeout: Duration) async {
        let started = now()
        let id = state.withLock { state -> UInt64? in
            if state.claimRecentWake(key, at: started) { return nil }
            state.nextID &+= 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let endedAlready = self.state.withLock { state -> Bool in
                        if state.ended.remove(id) != nil { return true }
                        state.waiting[key, default: [:]][id] = continuation
                        return false
                    }
                    if endedAlready { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.end(key: key, id: id)
            }
            await group.next()
            end(key: key, id: id)
            group.cancelAll()
        }
        state.withLock { _ = $0.ended.remove(id) }
    }

    func wake(_ key: String) {
        let woken = now()
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let waiting = state.waiting.removeValue(forKey: key) else {
                state.keepUnclaimed(key, at: woken)
                return []
            }
            return Array(waiting.values)
        }
        for continuation in continuations { continuation.resume() }
    }

    func wakeAll() {
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiting.removeAll() }
            return state.waiting.values.flatMap(\.values)
        }
        for continuation in continuations { continuation.resume() }
    }

    /// Ends one wait: resumes its continuation, or marks it ended if not registered yet.
    private func end(key: String, id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let removed = state.waiting[key]?.removeValue(forKey: id) {
                if state.waiting[key]?.isEmpty == true { state.waiting[key] = nil }
                return removed
            }
            state.ended.insert(id)
            return nil
        }
        continuation?.resume()
    }
}
