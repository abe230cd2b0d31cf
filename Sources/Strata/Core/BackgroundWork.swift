import Synchronization

/// Runs the cache's detached work — shared loads, background refreshes, delayed deletes — as child
/// tasks of the cache's `run()`, so nothing outlives the service and nothing is an unstructured task.
///
/// Until `run()` starts (and after it ends), ``submit(_:)`` refuses work and callers fall back to
/// doing it inline in their own task.
final class BackgroundWork: Sendable {
    typealias Job = @Sendable () async -> Void

    private struct State {
        var continuation: AsyncStream<Job>.Continuation?
        var pending = 0
        /// Set by `stop()`, even before `run()` started (a graceful shutdown that came first), so a
        /// later `run()` returns at once instead of serving forever.
        var stopped = false
    }

    private let state = Mutex(State())

    /// Whether `run()` is accepting work.
    var isRunning: Bool { state.withLock { $0.continuation != nil } }

    /// Jobs submitted and not yet finished.
    var pendingCount: Int { state.withLock { $0.pending } }

    /// Hands `job` to the running loop; `false` when nothing is running to take it.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        state.withLock { state in
            guard let continuation = state.continuation else { return false }
            state.pending += 1
            if case .enqueued = continuation.yield(job) { return true }
            state.pending -= 1
            return false
        }
    }

    /// Runs submitted jobs concurrently until cancelled or until `stop()`; then waits for the jobs
    /// already running to finish (they see cancellation when the caller's task is cancelled).
    func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Job.self)
        let accepted = state.withLock { state -> Bool in
            guard state.continuation == nil, !state.stopped else { return false }
            state.continuation = continuation
            return true
        }
        guard accepted else { return }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await job in stream {
                    group.addTask {
                        await job()
                        self.state.withLock { $0.pending -= 1 }
                    }
                }
            }
        } onCancel: {
            self.stop()
        }
    }

    /// Stops accepting work; jobs already queued still run.
    func stop() {
        let continuation = state.withLock { state -> AsyncStream<Job>.Continuation? in
            defer {
                state.continuation = nil
                state.stopped = true
            }
            return state.continuation
        }
        continuation?.finish()
    }
}
