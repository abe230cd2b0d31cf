import Synchronization

/// A result delivered once by one task and awaited by another, where the awaiting task may give
/// up (cancellation) without affecting the producer.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case delivered(Value)
        case abandoned
    }

    private let state = Mutex(State.empty)

    /// Hands the value to the waiter (or keeps it for a waiter still to come).
    func deliver(_ value: Value) {
        let continuation: CheckedContinuation<Value, any Error>? = state.withLock { state in
            switch state {
            case .empty:
                state = .delivered(value)
                return nil
            case .waiting(let continuation):
                state = .delivered(value)
                return continuation
            case .delivered, .abandoned:
                return nil
            }
        }
        continuation?.resume(returning: value)
    }

    /// Waits for the value; throws ``CacheError`` `.cancelled` if the caller is cancelled first.
    func value() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome: Result<Value, any Error>? = state.withLock { state in
                    switch state {
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .delivered(let value):
                        return .success(value)
                    case .abandoned:
                        return .failure(CacheError(.cancelled, "the caller was cancelled while waiting for a batch load"))
                    case .waiting:
                        preconditionFailure("OneShot supports a single waiter")
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Value, any Error>? = state.withLock { state in
                switch state {
                case .waiting(let continuation):
                    state = .abandoned
                    return continuation
                case .empty:
                    state = .abandoned
                    return nil
                case .delivered, .abandoned:
                    return nil
                }
            }
            continuation?.resume(throwing: CacheError(.cancelled, "the caller was cancelled while waiting for a batch load"))
        }
    }
}
