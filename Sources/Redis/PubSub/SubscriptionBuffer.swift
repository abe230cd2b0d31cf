import NIOCore
import Synchronization

/// One subscriber's bounded event queue.
///
/// The publisher side (the event loop) never waits: when the queue is full the oldest message is
/// dropped and counted, and the reader's next event is a gap covering the drops. So a slow
/// subscriber costs bounded memory and never delays another subscriber.
final class SubscriptionBuffer: Sendable {
    private struct State {
        var events = CircularBuffer<RedisSubscriptionEvent>()
        var dropped = 0
        var firstDropAt: ContinuousClock.Instant?
        var reader: UnsafeContinuation<RedisSubscriptionEvent?, any Error>?
        var ended: RedisError??
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// A reader to wake once every recipient of an event has it buffered.
    struct Wakeup {
        fileprivate let reader: UnsafeContinuation<RedisSubscriptionEvent?, any Error>
        fileprivate let event: RedisSubscriptionEvent

        /// Hands the event to the waiting reader.
        func resume() { reader.resume(returning: event) }
    }

    /// Adds an event; never blocks. A waiting reader is not woken here but returned, so an event
    /// for many subscribers reaches every buffer before any reader runs.
    func append(_ event: RedisSubscriptionEvent) -> Wakeup? {
        state.withLock { state -> Wakeup? in
            guard state.ended == nil else { return nil }
            if let reader = state.reader {
                state.reader = nil
                return Wakeup(reader: reader, event: event)
            }
            if state.events.count >= limit {
                state.events.removeFirst()
                state.dropped += 1
                if state.firstDropAt == nil { state.firstDropAt = .now }
            }
            state.events.append(event)
            return nil
        }
    }

    /// Ends the sequence: the reader gets nil (or `error`) after the buffered events.
    func finish(throwing error: RedisError? = nil) {
        let reader = state.withLock { state -> UnsafeContinuation<RedisSubscriptionEvent?, any Error>? in
            guard state.ended == nil else { return nil }
            state.ended = .some(error)
            defer { state.reader = nil }
            return state.reader
        }
        if let error { reader?.resume(throwing: error) } else { reader?.resume(returning: nil) }
    }

    func next() async throws -> RedisSubscriptionEvent? {
        try await withTaskCancellationHandler {
            try await waitForNext()
        } onCancel: {
            let reader = state.withLock { state in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.resume(throwing: CancellationError())
        }
    }

    private func waitForNext() async throws -> RedisSubscriptionEvent? {
        try await withUnsafeThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<RedisSubscriptionEvent?, any Error>? in
                if state.dropped > 0, let from = state.firstDropAt {
                    let gap = RedisSubscriptionGap(reason: .overflow(dropped: state.dropped), from: from, to: .now)
                    state.dropped = 0
                    state.firstDropAt = nil
                    return .success(.gap(gap))
                }
                if let event = state.events.popFirst() { return .success(event) }
                if let ended = state.ended {
                    return ended.map { .failure($0) } ?? .success(nil)
                }
                if Task.isCancelled { return .failure(CancellationError()) }
                state.reader = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
