import Synchronization

/// Whether an instance's cache is ready to take traffic: a flag a warming service sets and a
/// readiness probe (StrataHummingbird's `addReadinessRoute`) or a request gate reads.
///
/// ``isReady`` is one atomic load, cheap enough for every request. ``waitUntilReady()`` suspends
/// until ``markReady()`` (waiters are resumed after the lock is released). The flag can go back
/// with ``markNotReady()``, for an instance that re-warms after losing its distributed tier.
///
/// Concurrency: every method may be called from any task at the same time.
public final class CacheReadiness: Sendable {
    private struct Waiters {
        var nextID: UInt64 = 0
        var continuations: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    }

    private let ready: Atomic<Bool>
    private let waiters = Mutex(Waiters())

    /// Creates a readiness flag, not ready unless `isReady` is true.
    public init(isReady: Bool = false) {
        ready = Atomic(isReady)
    }

    /// Whether the cache is ready.
    ///
    /// - Complexity: O(1), one atomic load.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Marks the cache ready and resumes every ``waitUntilReady()`` caller.
    public func markReady() {
        let resumed = waiters.withLock { waiters in
            ready.store(true, ordering: .releasing)
            defer { waiters.continuations.removeAll() }
            return Array(waiters.continuations.values)
        }
        for continuation in resumed { continuation.resume() }
    }

    /// Marks the cache not ready (for example while it re-warms); later waiters wait again.
    public func markNotReady() {
        waiters.withLock { _ in ready.store(false, ordering: .releasing) }
    }

    /// Returns once the cache is ready: at once when it already is, otherwise at the next
    /// ``markReady()``.
    ///
    /// - Throws: `CancellationError` when the calling task is cancelled while waiting.
    public func waitUntilReady() async throws {
        if isReady { return }
        let id = waiters.withLock { waiters in
            defer { waiters.nextID += 1 }
            return waiters.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = waiters.withLock { waiters in
                    if ready.load(ordering: .acquiring) { return .success(()) }
                    // Checked under the lock: a cancellation handler that ran before this found
                    // nothing to resume, so this check is what ends the wait.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    waiters.continuations[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let continuation = waiters.withLock { $0.continuations.removeValue(forKey: id) }
            continuation?.resume(throwing: CancellationError())
        }
    }
}
