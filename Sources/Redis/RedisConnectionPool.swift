import Logging
import NIOCore
import NIOPosix
import RESP
import Synchronization

/// Keeps connections to one server open and lends them to commands.
///
/// The I/O shell around ``StateMachine``: it asks the machine under one lock and performs the
/// returned actions (connect, close, ping, resume a waiter) after releasing it. Connects and
/// keep-alive pings run as child tasks of ``run()``; nothing here starts a stray task.
final class RedisConnectionPool: Sendable {
    /// A connection lent to one command; give it back with ``RedisConnectionPool/release(_:)``.
    struct Lease: Sendable {
        let slot: ConnectionID
        let connection: RedisConnection
    }

    private typealias WaiterContinuation = UnsafeContinuation<Lease, any Error>

    private struct Storage: ~Copyable {
        var machine: StateMachine
        var connections: [ConnectionID: RedisConnection] = [:]
        var waiters: [WaiterID: WaiterContinuation] = [:]
        /// Outcomes decided for waiters whose continuation was not registered yet.
        var earlyOutcomes: [WaiterID: Result<Lease, RedisError>] = [:]
        var nextWaiterID: WaiterID = 0
        var connectionConfiguration: RedisConnectionConfiguration
        /// Why the last connect failed: reported to callers failed fast while reconnecting.
        var lastConnectError: RedisError?

        func error(for code: RedisError.Code) -> RedisError {
            guard code == .connectionFailed || code == .circuitOpen, let lastConnectError else { return RedisError(code) }
            if code == .circuitOpen { return RedisError(.circuitOpen, underlying: lastConnectError) }
            return lastConnectError
        }
    }

    private enum Work: Sendable {
        case connect(ConnectionID, RedisConnectionConfiguration)
        case ping(Lease)
    }

    private let storage: Mutex<Storage>
    private let work: AsyncStream<Work>.Continuation
    private let workStream: AsyncStream<Work>
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let metrics: RedisMetrics
    private let pushHandler: (@Sendable (RESPToken) -> Void)?
    private let discovery: NodeDiscovery?
    let poolConfiguration: RedisPoolConfiguration

    /// Finds the node to connect to before every connect (Sentinel), and checks it afterwards.
    struct NodeDiscovery: Sendable {
        var resolve: @Sendable () async throws(RedisError) -> RedisEndpoint
        var verify: @Sendable (RedisConnection) async throws(RedisError) -> Void
    }

    init(
        connection: RedisConnectionConfiguration, pool: RedisPoolConfiguration, eventLoopGroup: any EventLoopGroup,
        logger: Logger, metrics: RedisMetrics, pushHandler: (@Sendable (RESPToken) -> Void)? = nil,
        discovery: NodeDiscovery? = nil
    ) {
        self.discovery = discovery
        self.storage = Mutex(Storage(machine: StateMachine(configuration: pool), connectionConfiguration: connection))
        (self.workStream, self.work) = AsyncStream.makeStream(of: Work.self)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.metrics = metrics
        self.pushHandler = pushHandler
        self.poolConfiguration = pool
        self.commandTimeoutNanoseconds = Atomic(connection.commandTimeout.nanoseconds)
    }

    var connectionConfiguration: RedisConnectionConfiguration {
        storage.withLock { $0.connectionConfiguration }
    }

    /// The configured command timeout, readable on every command without the lock or a copy of
    /// the whole configuration.
    var commandTimeout: TimeAmount { .nanoseconds(commandTimeoutNanoseconds.load(ordering: .relaxed)) }
    private let commandTimeoutNanoseconds: Atomic<Int64>

    // MARK: Leasing

    /// The first step of a lease, taken without suspending.
    enum LeaseStart {
        /// A connection had a free slot.
        case leased(Lease)
        /// The caller is queued: finish with ``RedisConnectionPool/waitForLease(_:)``.
        case waiting(WaiterID)
    }

    /// Takes a connection with a free in-flight slot, or queues the caller for one (opening a
    /// connection if the pool may grow). Synchronous, so the common case, a free slot, costs no
    /// async call; a queued caller then awaits ``waitForLease(_:)``.
    func startLease(deadline: NIODeadline, now: NIODeadline) throws(RedisError) -> LeaseStart {
        // The lock returns one small enum: a tuple carrying an optional configuration (a large
        // struct) was copied and destroyed on every lease.
        enum Decision {
            case leased(Lease)
            case wait(WaiterID, connect: (ConnectionID, RedisConnectionConfiguration)?)
            case fail(RedisError)
        }
        let decision = storage.withLock { storage -> Decision in
            storage.nextWaiterID &+= 1
            let waiterID = storage.nextWaiterID
            switch storage.machine.lease(waiter: waiterID, deadline: deadline, now: now) {
            case .use(let id):
                guard let connection = storage.connections[id] else { return .fail(RedisError(.connectionClosed)) }
                return .leased(Lease(slot: id, connection: connection))
            case .wait(connect: .some(let id)):
                return .wait(waiterID, connect: (id, storage.connectionConfiguration))
            case .wait(connect: .none):
                return .wait(waiterID, connect: nil)
            case .fail(let code):
                return .fail(storage.error(for: code))
            }
        }
        switch decision {
        case .leased(let lease):
            return .leased(lease)
        case .fail(let error):
            throw error
        case .wait(let waiterID, let connect):
            if let (id, configuration) = connect { work.yield(.connect(id, configuration)) }
            return .waiting(waiterID)
        }
    }

    /// Waits for the connection handed to a queued caller (see ``startLease(deadline:now:)``).
    func waitForLease(_ waiterID: WaiterID) async throws(RedisError) -> Lease {
        do {
            return try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (continuation: WaiterContinuation) in
                    let early = storage.withLock { storage -> Result<Lease, RedisError>? in
                        if let outcome = storage.earlyOutcomes.removeValue(forKey: waiterID) { return outcome }
                        storage.waiters[waiterID] = continuation
                        return nil
                    }
                    if let early { continuation.resume(with: early.mapError { $0 as any Error }) }
                    if Task.isCancelled { cancelWaiter(waiterID) }
                }
            } onCancel: {
                self.cancelWaiter(waiterID)
            }
        } catch {
            throw (error as? RedisError) ?? RedisError(.cancelled)
        }
    }

    /// Returns the in-flight slot taken by ``startLease(deadline:now:)``.
    func release(_ lease: Lease) {
        let now = NIODeadline.now()
        let action = storage.withLock { $0.machine.release(lease.slot, now: now) }
        if let action { perform([action]) }
    }

    private func cancelWaiter(_ id: WaiterID) {
        let continuation = storage.withLock { storage -> WaiterContinuation? in
            guard storage.machine.cancelWaiter(id) else { return nil }
            guard let continuation = storage.waiters.removeValue(forKey: id) else {
                storage.earlyOutcomes[id] = .failure(RedisError(.cancelled))
                return nil
            }
            return continuation
        }
        continuation?.resume(throwing: RedisError(.cancelled))
    }

    // MARK: Performing actions

    private func perform(_ actions: [StateMachine.Action]) {
        guard !actions.isEmpty else { return }
        var resumes: [(WaiterContinuation, Result<Lease, RedisError>)] = []
        var works: [Work] = []
        var closes: [RedisConnection] = []
        storage.withLock { storage in
            func settle(_ waiter: WaiterID, _ outcome: Result<Lease, RedisError>) {
                if let continuation = storage.waiters.removeValue(forKey: waiter) {
                    resumes.append((continuation, outcome))
                } else {
                    storage.earlyOutcomes[waiter] = outcome
                }
            }
            for action in actions {
                switch action {
                case .connect(let id):
                    works.append(.connect(id, storage.connectionConfiguration))
                case .close(let id):
                    if let connection = storage.connections.removeValue(forKey: id) { closes.append(connection) }
                case .ping(let id):
                    if let connection = storage.connections[id] { works.append(.ping(Lease(slot: id, connection: connection))) }
                case .handOver(let waiter, let id):
                    if let connection = storage.connections[id] {
                        settle(waiter, .success(Lease(slot: id, connection: connection)))
                    } else {
                        settle(waiter, .failure(RedisError(.connectionClosed)))
                    }
                case .fail(let waiter, let code):
                    settle(waiter, .failure(storage.error(for: code)))
                }
            }
        }
        for (continuation, outcome) in resumes { continuation.resume(with: outcome.mapError { $0 as any Error }) }
        for connection in closes { connection.beginGracefulClose() }
        for item in works { work.yield(item) }
    }

    // MARK: Running

    /// Opens the minimum connections, then connects, pings and expires waiters until shut down.
    /// Returns once every connection has closed.
    func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.maintain() }
                for await item in workStream {
                    group.addTask { await self.execute(item) }
                }
            }
        } onCancel: {
            self.shutdown()
        }
        let remaining = storage.withLock { Array($0.connections.values) }
        for connection in remaining { try? await connection.closeFuture.get() }
    }

    /// Stops lending: fails waiters, closes idle connections, closes busy ones once they drain.
    func shutdown() {
        perform(storage.withLock { $0.machine.shutdown() })
    }

    /// New connections use `configuration`; existing ones close as soon as they are idle.
    func updateConnectionConfiguration(_ configuration: RedisConnectionConfiguration, keeping: ConnectionID? = nil) {
        let now = NIODeadline.now()
        commandTimeoutNanoseconds.store(configuration.commandTimeout.nanoseconds, ordering: .relaxed)
        perform(storage.withLock {
            $0.connectionConfiguration = configuration
            return $0.machine.retireAll(now: now, keeping: keeping)
        })
    }

    /// Points new connections at `endpoint` if it differs; old connections drain and close.
    func moveTo(_ endpoint: RedisEndpoint, keeping: ConnectionID? = nil) {
        var configuration = connectionConfiguration
        guard configuration.endpoint != endpoint else { return }
        logger.info("redis primary moved; retiring connections to the old one", metadata: ["redis.endpoint": "\(endpoint)"])
        configuration.endpoint = endpoint
        updateConnectionConfiguration(configuration, keeping: keeping)
    }

    private func maintain() async {
        let interval = Duration.nanoseconds(poolConfiguration.maintenanceInterval.nanoseconds)
        while true {
            let now = NIODeadline.now()
            let (actions, finished, gauges) = storage.withLock { storage in
                let actions = storage.machine.tick(now: now)
                let machine = storage.machine
                return (
                    actions, machine.isShutDown,
                    (machine.openCount, machine.inUseCount, machine.waiters.count, machine.breaker != .closed)
                )
            }
            perform(actions)
            metrics.recordPool(open: gauges.0, inUse: gauges.1, waiters: gauges.2, breakerOpen: gauges.3)
            if finished {
                work.finish()
                return
            }
            // The loop must outlive cancellation to see the drain finish, and a cancelled task's
            // `Task.sleep` returns at once: wait on the event loop's timer instead of spinning.
            if Task.isCancelled {
                await sleepIgnoringCancellation(interval)
            } else {
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func sleepIgnoringCancellation(_ interval: Duration) async {
        let nanoseconds = Int64(interval.components.seconds) * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            eventLoopGroup.any().scheduleTask(in: .nanoseconds(nanoseconds)) {}.futureResult.whenComplete { _ in
                continuation.resume()
            }
        }
    }

    private func execute(_ item: Work) async {
        switch item {
        case .connect(let id, var configuration):
            do throws(RedisError) {
                if let discovery {
                    // Re-resolve on every connect: the node may have changed since the last one.
                    let endpoint = try await discovery.resolve()
                    moveTo(endpoint, keeping: id)
                    configuration.endpoint = endpoint
                }
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoop: eventLoopGroup.any(), logger: logger, metrics: metrics,
                    pushHandler: pushHandler
                )
                if let discovery {
                    do throws(RedisError) {
                        try await discovery.verify(connection)
                    } catch {
                        await connection.close()
                        throw error
                    }
                }
                let now = NIODeadline.now()
                let actions = storage.withLock { storage in
                    storage.lastConnectError = nil
                    storage.connections[id] = connection
                    return storage.machine.connected(id, now: now)
                }
                connection.closeFuture.whenComplete { _ in self.connectionClosed(id) }
                perform(actions)
            } catch {
                logger.warning("redis connect failed", metadata: ["redis.error": "\(error)"])
                let now = NIODeadline.now()
                perform(storage.withLock {
                    $0.lastConnectError = error
                    return $0.machine.connectFailed(id, now: now, jitter: Double.random(in: 0...1))
                })
            }
        case .ping(let lease):
            do throws(RedisError) {
                _ = try await lease.connection.send(PING(), timeout: lease.connection.configuration.commandTimeout)
            } catch {
                logger.info("keep-alive PING failed; closing connection", metadata: ["redis.error": "\(error)"])
                lease.connection.closeNow(error)
            }
            release(lease)
        }
    }

    private func connectionClosed(_ id: ConnectionID) {
        let now = NIODeadline.now()
        perform(storage.withLock { storage in
            storage.connections[id] = nil
            return storage.machine.connectionClosed(id, now: now).map { [$0] } ?? []
        })
    }
}
