import Synchronization

/// The bookkeeping of single-flight: at most one load per key in this process, any number of waiters.
///
/// Sans-I/O: events in, the continuations to resume out. A flight can *publish early* (a stale value
/// after the soft timeout, or while revalidating): its waiters get that result at once, later joiners
/// get it without waiting, and the load carries on until it completes, so no second load starts for
/// the key meanwhile. A waiter that is cancelled leaves; the flight never notices.
struct SingleFlightStateMachine<Waiter, Outcome> {
    struct Flight {
        var id: UInt64
        var waiters: [UInt64: Waiter] = [:]
        var early: Outcome?
    }

    enum JoinAction {
        /// No flight was running: the caller must start the load, then report `completed`.
        case startFlight(flightID: UInt64)
        /// The waiter is registered and will be resumed when the flight publishes.
        case wait
        /// The flight already published an early outcome: use it now (the waiter was not registered).
        case useEarly(Outcome)
    }

    private(set) var flights: [String: Flight] = [:]
    /// Flights an invalidation overtook: they still finish for their own waiters, but nobody new
    /// joins them (their result may predate the write).
    private var retired: [UInt64: Flight] = [:]
    private var nextID: UInt64 = 0

    mutating func join(key: String, waiterID: UInt64, waiter: Waiter) -> JoinAction {
        if var flight = flights[key] {
            if let early = flight.early { return .useEarly(early) }
            flight.waiters[waiterID] = waiter
            flights[key] = flight
            return .wait
        }
        let id = makeID()
        flights[key] = Flight(id: id, waiters: [waiterID: waiter])
        return .startFlight(flightID: id)
    }

    /// Starts a flight nobody waits for (a background refresh); `nil` when one is already running.
    mutating func startWithoutWaiters(key: String) -> UInt64? {
        guard flights[key] == nil else { return nil }
        let id = makeID()
        flights[key] = Flight(id: id)
        return id
    }

    /// Whether a load for `key` is running.
    func isInFlight(_ key: String) -> Bool { flights[key] != nil }

    /// Removes a cancelled waiter; returns it so the shell can resume it with `CancellationError`.
    mutating func waiterCancelled(key: String, waiterID: UInt64) -> Waiter? {
        if let waiter = flights[key]?.waiters.removeValue(forKey: waiterID) { return waiter }
        for id in retired.keys {
            if let waiter = retired[id]?.waiters.removeValue(forKey: waiterID) { return waiter }
        }
        return nil
    }

    /// The key was invalidated: a flight running for it may have read the source before the write,
    /// so later callers start a new one instead of joining it.
    mutating func invalidated(key: String) {
        guard let flight = flights.removeValue(forKey: key) else { return }
        retired[flight.id] = flight
    }

    /// Invalidations may have been missed (the bus was down): every running flight may predate a
    /// write, so none is joined any more.
    mutating func invalidatedAll() {
        for (_, flight) in flights { retired[flight.id] = flight }
        flights.removeAll()
    }

    /// Hands `outcome` to the current waiters and to anyone who joins until the flight completes.
    mutating func publishedEarly(key: String, flightID: UInt64, outcome: Outcome) -> [Waiter] {
        if var flight = retired[flightID], flight.early == nil {
            let waiters = Array(flight.waiters.values)
            flight.waiters = [:]
            flight.early = outcome
            retired[flightID] = flight
            return waiters
        }
        guard var flight = flights[key], flight.id == flightID, flight.early == nil else { return [] }
        let waiters = Array(flight.waiters.values)
        flight.waiters = [:]
        flight.early = outcome
        flights[key] = flight
        return waiters
    }

    /// Ends the flight; returns the waiters to resume with the final outcome.
    mutating func completed(key: String, flightID: UInt64) -> [Waiter] {
        if let flight = retired.removeValue(forKey: flightID) { return Array(flight.waiters.values) }
        guard let flight = flights[key], flight.id == flightID else { return [] }
        flights[key] = nil
        return Array(flight.waiters.values)
    }

    private mutating func makeID() -> UInt64 {
        nextID &+= 1
        return nextID
    }
}

/// The thread-safe shell around ``SingleFlightStateMachine``: waiters suspend on continuations.
final class SingleFlightTable<Value: Sendable>: Sendable {
    typealias Waiter = CheckedContinuation<Value, any Error>
    private let machine = Mutex(SingleFlightStateMachine<Waiter, Result<Value, any Error>>())
    private let waiterIDs = Atomic<UInt64>(0)

    /// Joins the flight for `key`, starting it with `start(flightID)` when none runs, and waits for
    /// its outcome. Cancelling the caller only removes this waiter.
    ///
    /// `start` runs synchronously under no lock; it must hand the load to something that will
    /// eventually call ``publishEarly(key:flightID:outcome:)`` or ``complete(key:flightID:outcome:)``.
    func join(key: String, start: (UInt64) -> Void, joined: () -> Void) async throws -> Value {
        let waiterID = waiterIDs.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let action = machine.withLock { $0.join(key: key, waiterID: waiterID, waiter: continuation) }
                switch action {
                case .startFlight(let flightID):
                    start(flightID)
                case .wait:
                    joined()
                case .useEarly(let outcome):
                    joined()
                    continuation.resume(with: outcome)
                }
            }
        } onCancel: {
            let waiter = machine.withLock { $0.waiterCancelled(key: key, waiterID: waiterID) }
            waiter?.resume(throwing: CacheError(.cancelled, "the caller was cancelled while waiting for a load"))
        }
    }

    /// Starts a background flight for `key` unless one is running; returns its id.
    func startWithoutWaiters(key: String) -> UInt64? {
        machine.withLock { $0.startWithoutWaiters(key: key) }
    }

    func isInFlight(_ key: String) -> Bool { machine.withLock { $0.isInFlight(key) } }

    /// Stops new callers from joining the current flight for `key` (see the state machine).
    func invalidated(_ key: String) { machine.withLock { $0.invalidated(key: key) } }

    /// See ``SingleFlightStateMachine/invalidatedAll()``.
    func invalidatedAll() { machine.withLock { $0.invalidatedAll() } }

    func publishEarly(key: String, flightID: UInt64, outcome: Result<Value, any Error>) {
        let waiters = machine.withLock { $0.publishedEarly(key: key, flightID: flightID, outcome: outcome) }
        for waiter in waiters { waiter.resume(with: outcome) }
    }

    func complete(key: String, flightID: UInt64, outcome: Result<Value, any Error>) {
        let waiters = machine.withLock { $0.completed(key: key, flightID: flightID) }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}
