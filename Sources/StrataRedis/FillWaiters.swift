import Synchronization

/// Callers waiting for another caller's fill of a key, woken by fill notifications or their timeout.
final class FillWaiters: Sendable {
    private struct State {
        var nextID: UInt64 = 0
        var waiting: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Waits that ended (timed out) before their continuation was registered.
        var ended: Set<UInt64> = []
    }

    private let state = Mutex(State())

    func wait(for key: String, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
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
        let continuations = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard let waiting = state.waiting.removeValue(forKey: key) else { return [] }
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
