import Synchronization

/// Where running applies drop their outcomes for the worker loop, and how the loop waits for
/// "an outcome, or this long" without polling.
final class ApplyMailbox: Sendable {
    private struct State {
        var results: [WriteBehindStateMachine.ApplyResult] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Adds an outcome and wakes the loop if it waits.
    func post(_ result: WriteBehindStateMachine.ApplyResult) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.results.append(result)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Takes every outcome posted so far.
    func take() -> [WriteBehindStateMachine.ApplyResult] {
        state.withLock { state in
            defer { state.results = [] }
            return state.results
        }
    }

    /// Returns when an outcome is waiting, `duration` has passed, or the task is cancelled.
    func wait(upTo duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: duration)
                self.wake()
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if !state.results.isEmpty || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                self.wake()
            }
            group.cancelAll()
        }
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
