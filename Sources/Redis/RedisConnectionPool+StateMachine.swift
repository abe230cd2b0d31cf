import NIOCore

// The pool's decisions, free of I/O. The shell (`RedisConnectionPool`) calls one method per event
// under its lock and performs the returned actions after releasing it. Times come in as
// arguments and randomness as a jitter fraction, so every path is tested without sockets or sleeps.
//
// Policy in brief:
// - A lease takes the next ready connection (round-robin) that has an in-flight slot free.
//   Otherwise the caller waits, and a new connection is opened if the pool may grow.
// - Connect failures back off exponentially with jitter. While no connection is up and a
//   reconnect is backing off, leases fail fast with the last connect error; after
//   `breakerFailureThreshold` consecutive failures the breaker opens and leases fail fast with
//   `circuitOpen` until one probe connect is let through.
// - Shutdown fails waiters, closes idle connections and closes busy ones once they drain.

extension RedisConnectionPool {
    typealias ConnectionID = Int
    typealias WaiterID = UInt64

    struct StateMachine {
        enum Slot: Equatable {
            case connecting
            case ready(inFlight: Int, lastActive: NIODeadline)
        }

        struct Waiter {
            let id: WaiterID
            let deadline: NIODeadline
        }

        enum Breaker: Equatable {
            case closed
            case open(until: NIODeadline)
            /// One probe connect is allowed; leases fail fast until it succeeds.
            case halfOpen
        }

        enum LeaseAction: Equatable {
            case use(ConnectionID)
            case wait(connect: ConnectionID?)
            case fail(RedisError.Code)
        }

        enum Action: Equatable {
            case connect(ConnectionID)
            case close(ConnectionID)
            case ping(ConnectionID)
            case handOver(WaiterID, ConnectionID)
            case fail(WaiterID, RedisError.Code)
        }

        let configuration: RedisPoolConfiguration
        private(set) var slots: [ConnectionID: Slot] = [:]
        private var readyOrder: [ConnectionID] = []
        private var roundRobin = 0
        private var retiring: Set<ConnectionID> = []
        /// When each connection was last sent a keep-alive PING. A PING is not use: it neither
        /// restarts the idle clock (`lastActive`) nor does its release, so idle close still happens.
        private var lastPing: [ConnectionID: NIODeadline] = [:]
        /// Connections whose in-flight slot is held by a keep-alive PING.
        private var pinging: Set<ConnectionID> = []
        private(set) var waiters = CircularBuffer<Waiter>()
        private var nextConnectionID = 0
        private(set) var consecutiveFailures = 0
        private(set) var breaker = Breaker.closed
        private var backoffUntil: NIODeadline?
        private(set) var isShuttingDown = false

        init(configuration: RedisPoolConfiguration) {
            self.configuration = configuration
        }

        var openCount: Int { slots.count }
        var inUseCount: Int {
            slots.values.reduce(0) { count, slot in
                if case .ready(let inFlight, _) = slot, inFlight > 0 { return count + 1 }
                return count
            }
        }
        /// True when the pool has shut down and every connection is gone.
        var isShutDown: Bool { isShuttingDown && slots.isEmpty }

        // MARK: Leasing

        mutating func lease(waiter: WaiterID, deadline: NIODeadline, now: NIODeadline) -> LeaseAction {
            if isShuttingDown { return .fail(.shutdown) }
            if let id = takeReadySlot(now: now) { return .use(id) }
            // A healthy connection at its in-flight cap is worth waiting for, breaker or not.
            switch breaker {
            case .open(let until) where now < until && readyOrder.isEmpty:
                return .fail(.circuitOpen)
            case .halfOpen where readyOrder.isEmpty:
                return .fail(.circuitOpen)
            default:
                break
            }
            if slots.isEmpty, let backoffUntil, now < backoffUntil {
                return .fail(.connectionFailed)
            }
            waiters.append(Waiter(id: waiter, deadline: deadline))
            return .wait(connect: startConnectionIfAllowed(now: now))
        }

        /// Returns an in-flight slot. Hands it to the oldest waiter if one is queued.
        mutating func release(_ id: ConnectionID, now: NIODeadline) -> Action? {
            // One hash of `id` on the common path: the slot is updated through its index, and the
            // (usually empty) ping and retiring sets are not probed when empty.
            guard let index = slots.index(forKey: id), case .ready(let inFlight, let lastActive) = slots.values[index]
            else { return nil }
            let pingReturned = !pinging.isEmpty && pinging.remove(id) != nil && inFlight == 1
            let isRetiring = !retiring.isEmpty && retiring.contains(id)
            if !isRetiring, let waiter = waiters.popFirst() {
                slots.values[index] = .ready(inFlight: inFlight, lastActive: now)
                return .handOver(waiter.id, id)
            }
            slots.values[index] = .ready(inFlight: inFlight - 1, lastActive: pingReturned ? lastActive : now)
            if inFlight - 1 == 0, isShuttingDown || isRetiring {
                return .close(removeSlot(id))
            }
            return nil
        }

        /// The caller stopped waiting (cancelled). Returns false if it was already served.
        mutating func cancelWaiter(_ id: WaiterID) -> Bool {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return false }
            waiters.remove(at: index)
            return true
        }

        // MARK: Connection lifecycle

        mutating func connected(_ id: ConnectionID, now: NIODeadline) -> [Action] {
            guard slots[id] == .connecting else { return [.close(id)] }
            consecutiveFailures = 0
            breaker = .closed
            backoffUntil = nil
            if isShuttingDown || retiring.contains(id) {
                return [.close(removeSlot(id))]
            }
            var inFlight = 0
            var actions: [Action] = []
            while inFlight < configuration.maximumInFlightPerConnection, let waiter = waiters.popFirst() {
                inFlight += 1
                actions.append(.handOver(waiter.id, id))
            }
            slots[id] = .ready(inFlight: inFlight, lastActive: now)
            readyOrder.append(id)
            return actions
        }

        /// A connect attempt failed. `jitter` in 0...1 spreads reconnects of many clients.
        mutating func connectFailed(_ id: ConnectionID, now: NIODeadline, jitter: Double) -> [Action] {
            guard slots[id] == .connecting else { return [] }
            _ = removeSlot(id)
            consecutiveFailures += 1
            backoffUntil = now + configuration.backoff(afterFailures: consecutiveFailures, jitter: jitter)
            if case .halfOpen = breaker {
                breaker = .open(until: now + configuration.breakerOpenDuration)
            } else if consecutiveFailures >= configuration.breakerFailureThreshold {
                breaker = .open(until: now + configuration.breakerOpenDuration)
            }
            // Waiters are served by any connection that is up; with none, fail them now rather
            // than let them sit out their deadlines.
            guard readyOrder.isEmpty else { return [] }
            let code: RedisError.Code = breaker == .closed ? .connectionFailed : .circuitOpen
            var actions: [Action] = []
            while let waiter = waiters.popFirst() { actions.append(.fail(waiter.id, code)) }
            return actions
        }

        /// An established connection closed (server gone, I/O error, or we closed it).
        mutating func connectionClosed(_ id: ConnectionID, now: NIODeadline) -> Action? {
            guard slots[id] != nil else { return nil }
            _ = removeSlot(id)
            guard !isShuttingDown, slots.count < configuration.minimumConnections || !waiters.isEmpty else { return nil }
            return startConnectionIfAllowed(now: now).map { .connect($0) }
        }

        /// Connections open from now on use new settings; existing ones close once idle.
        /// `keeping` is a connect already under way to the new settings (a discovered primary).
        /// A reconfiguration is new information: backoff and breaker start afresh.
        mutating func retireAll(now: NIODeadline, keeping: ConnectionID? = nil) -> [Action] {
            var actions: [Action] = []
            consecutiveFailures = 0
            backoffUntil = nil
            breaker = .closed
            for (id, slot) in slots where id != keeping {
                switch slot {
                case .ready(0, _): actions.append(.close(removeSlot(id)))
                default: retiring.insert(id)
                }
            }
            readyOrder.removeAll { retiring.contains($0) }
            if slots.count - retiring.count < configuration.minimumConnections,
                let id = startConnectionIfAllowed(now: now, ignoringRetiring: true)
            {
                actions.append(.connect(id))
            }
            return actions
        }

        // MARK: Maintenance

        mutating func tick(now: NIODeadline) -> [Action] {
            var actions: [Action] = []
            if waiters.contains(where: { $0.deadline <= now }) {
                for waiter in waiters where waiter.deadline <= now { actions.append(.fail(waiter.id, .timeout)) }
                waiters.removeAll { $0.deadline <= now }
            }
            guard !isShuttingDown else { return actions }
            let live = slots.count - retiring.count
            if live < configuration.minimumConnections || (!waiters.isEmpty && readyOrder.isEmpty),
                let id = startConnectionIfAllowed(now: now, ignoringRetiring: true)
            {
                actions.append(.connect(id))
            }
            var openReady = readyOrder.count
            for id in readyOrder {
                guard case .ready(0, let lastActive) = slots[id] else { continue }
                if openReady > configuration.minimumConnections, lastActive + configuration.idleTimeout <= now {
                    actions.append(.close(removeSlot(id)))
                    openReady -= 1
                } else if let keepAlive = configuration.keepAliveInterval,
                    max(lastActive, lastPing[id] ?? lastActive) + keepAlive <= now
                {
                    slots[id] = .ready(inFlight: 1, lastActive: lastActive)
                    lastPing[id] = now
                    pinging.insert(id)
                    actions.append(.ping(id))
                }
            }
            return actions
        }

        mutating func shutdown() -> [Action] {
            guard !isShuttingDown else { return [] }
            isShuttingDown = true
            var actions: [Action] = []
            while let waiter = waiters.popFirst() { actions.append(.fail(waiter.id, .shutdown)) }
            for (id, slot) in slots {
                if case .ready(0, _) = slot { actions.append(.close(removeSlot(id))) }
            }
            return actions
        }

        // MARK: Helpers

        private mutating func takeReadySlot(now: NIODeadline) -> ConnectionID? {
            let count = readyOrder.count
            guard count > 0 else { return nil }
            for step in 0..<count {
                let id = readyOrder[(roundRobin &+ step) % count]
                guard let index = slots.index(forKey: id) else { continue }
                if case .ready(let inFlight, _) = slots.values[index], inFlight < configuration.maximumInFlightPerConnection {
                    roundRobin = (roundRobin &+ step &+ 1) % count
                    slots.values[index] = .ready(inFlight: inFlight + 1, lastActive: now)
                    return id
                }
            }
            return nil
        }

        private mutating func startConnectionIfAllowed(now: NIODeadline, ignoringRetiring: Bool = false) -> ConnectionID? {
            let live = ignoringRetiring ? slots.count - retiring.count : slots.count
            guard live < configuration.maximumConnections else { return nil }
            guard !slots.values.contains(.connecting) else { return nil }
            if let backoffUntil, now < backoffUntil { return nil }
            switch breaker {
            case .closed: break
            case .open(let until) where now >= until: breaker = .halfOpen
            default: return nil
            }
            return startConnection()
        }

        private mutating func startConnection() -> ConnectionID? {
            let id = nextConnectionID
            nextConnectionID += 1
            slots[id] = .connecting
            return id
        }

        private mutating func removeSlot(_ id: ConnectionID) -> ConnectionID {
            slots[id] = nil
            retiring.remove(id)
            lastPing[id] = nil
            pinging.remove(id)
            if let index = readyOrder.firstIndex(of: id) { readyOrder.remove(at: index) }
            return id
        }
    }
}
