#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The source of time for everything in Strata that expires, refreshes or times out.
///
/// Production code uses ``SystemCacheClock``; tests use ``ManualCacheClock`` so that expiry,
/// refresh and breaker paths run instantly and deterministically.
public protocol CacheClock: Sendable {
    /// The current wall-clock time.
    var now: CacheInstant { get }

    /// Suspends until `duration` has passed on this clock.
    ///
    /// Throws `CancellationError` when the calling task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The real wall clock (`CLOCK_REALTIME`), sleeping with `ContinuousClock`.
public struct SystemCacheClock: CacheClock {
    /// Creates the system clock.
    public init() {}

    public var now: CacheInstant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return CacheInstant(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public func sleep(for duration: Duration) async throws {
        try await ContinuousClock().sleep(for: duration)
    }
}

/// A clock that only moves when a test advances it.
///
/// Sleepers wake when ``advance(by:)`` moves the clock past their deadline, in deadline order.
/// Cancelling a sleeping task wakes it with `CancellationError`.
public final class ManualCacheClock: CacheClock {
    private struct Sleeper {
        var id: UInt64
        var deadline: CacheInstant
        var continuation: CheckedContinuation<Void, any Error>?
        var cancelled: Bool
    }

    private struct State {
        var now: CacheInstant
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
    }

    private let state: Mutex<State>

    /// Creates a manual clock reading `start`.
    public init(start: CacheInstant = CacheInstant(millisecondsSinceEpoch: 1_700_000_000_000)) {
        state = Mutex(State(now: start))
    }

    public var now: CacheInstant { state.withLock { $0.now } }

    /// The number of tasks currently sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock forward and wakes every sleeper whose deadline has been reached.
    public func advance(by duration: Duration) {
        let woken: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.values.filter { $0.deadline <= state.now }.sorted { $0.deadline < $1.deadline }
            var continuations: [CheckedContinuation<Void, any Error>] = []
            for sleeper in due {
                state.sleepers[sleeper.id] = nil
                if let continuation = sleeper.continuation { continuations.append(continuation) }
            }
            return continuations
        }
        for continuation in woken { continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        let id: UInt64 = state.withLock { state in
            defer { state.nextID += 1 }
            state.sleepers[state.nextID] = Sleeper(
                id: state.nextID, deadline: state.now.advanced(by: duration), continuation: nil, cancelled: false)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let action: Result<Void, any Error>? = state.withLock { state in
                    guard var sleeper = state.sleepers[id] else { return .success(()) }
                    if sleeper.cancelled {
                        state.sleepers[id] = nil
                        return .failure(CancellationError())
                    }
                    if sleeper.deadline <= state.now {
                        state.sleepers[id] = nil
                        return .success(())
                    }
                    sleeper.continuation = continuation
                    state.sleepers[id] = sleeper
                    return nil
                }
                if let action { continuation.resume(with: action) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
                guard var sleeper = state.sleepers[id] else { return nil }
                if let continuation = sleeper.continuation {
                    state.sleepers[id] = nil
                    return continuation
                }
                sleeper.cancelled = true
                state.sleepers[id] = sleeper
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }
}
