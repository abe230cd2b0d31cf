import Logging
import NIOCore
import RESP
import Synchronization

// The I/O shell of Sentinel replica reads (RedisSentinelConfiguration.readFromReplicas).
// SentinelReplicaStateMachine decides; this class asks the sentinels, checks ROLE through each
// replica's own RedisClient, runs and retires those clients, and routes reads. run() owns one
// task group: the replica clients (added as replicas are learnt) and a control loop that runs
// discoveries, ROLE checks and timers. Every replica client also checks ROLE on each new
// connection (a NodeDiscovery hook), so a connection opened after a role change is refused.

/// Keeps a pooled client per verified replica of a Sentinel-managed service and routes reads to
/// them.
final class SentinelReplicaReads: Sendable {
    private struct State: Sendable {
        var machine: SentinelReplicaStateMachine
        var clients: [RedisEndpoint: RedisClient] = [:]
        var isShutDown = false
    }

    /// Work for the control loop: a discovery, a `ROLE` check or a timer.
    private typealias Control = @Sendable () async -> Void

    private let resolver: SentinelResolver
    private let dataNodes: RedisConnectionConfiguration
    private let poolConfiguration: RedisPoolConfiguration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let metrics: RedisMetrics
    private let state: Mutex<State>
    private let starts: AsyncStream<RedisClient>
    private let startSink: AsyncStream<RedisClient>.Continuation
    private let controls: AsyncStream<Control>
    private let controlSink: AsyncStream<Control>.Continuation

    init(
        resolver: SentinelResolver, dataNodes: RedisConnectionConfiguration, pool: RedisPoolConfiguration,
        eventLoop: any EventLoop, logger: Logger, metrics: RedisMetrics
    ) {
        self.resolver = resolver
        self.dataNodes = dataNodes
        self.poolConfiguration = pool
        self.eventLoop = eventLoop
        self.logger = logger
        self.metrics = metrics
        let interval = resolver.configuration.replicaRefreshInterval
        let schedule = ClusterRefreshStateMachine.Configuration(
            periodicInterval: interval, minimumSpacing: .milliseconds(100), initialBackoff: .milliseconds(100),
            maximumBackoff: interval
        )
        self.state = Mutex(State(machine: SentinelReplicaStateMachine(configuration: schedule, now: .now())))
        (starts, startSink) = AsyncStream.makeStream(of: RedisClient.self)
        (controls, controlSink) = AsyncStream.makeStream(of: Control.self)
    }

    /// The replicas reads currently go to.
    var readableReplicas: Set<RedisEndpoint> { state.withLock { Set($0.machine.readable) } }

    /// Runs discovery and the replica clients until ``shutdown()``.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runControl() }
            apply { $0.started(now: .now()) }
            for await client in starts {
                group.addTask { try? await client.run() }
            }
        }
    }

    /// Stops discovering and shuts every replica client down (in-flight reads finish).
    func shutdown() {
        state.withLock { $0.isShutDown = true }
        apply { $0.shutdown() }
        startSink.finish()
        controlSink.finish()
    }

    // MARK: Reads

    /// Sends a read-only `command` to a random readable replica by `deadline`.
    ///
    /// - Returns: the reply, or nil when the caller should use the primary: no replica is
    ///   readable, or the replica's connection failed (the replica then stops serving reads
    ///   until it is checked again).
    /// - Throws: the replica's own error reply (`WRONGTYPE`, ...), `timeout` at the deadline, or
    ///   `cancelled`.
    func read<Command: RedisCommand>(_ command: Command, deadline: NIODeadline) async throws(RedisError) -> Command.Response? {
        guard let (endpoint, client) = state.withLock({ state -> (RedisEndpoint, RedisClient)? in
            guard let endpoint = state.machine.readable.randomElement(), let client = state.clients[endpoint] else { return nil }
            return (endpoint, client)
        }) else { return nil }
        do {
            return try await client.send(command, timeout: deadline - .now())
        } catch {
            switch error.code {
            case .connectionFailed, .connectionClosed, .circuitOpen, .loading, .masterDown:
                // A timeout is not among these: it says as much about the caller's deadline as
                // about the replica, and leaves no time to try the primary anyway.
                logger.debug("replica read failed; using the primary", metadata: ["redis.replica": "\(endpoint)", "redis.error": "\(error)"])
                apply { $0.readFailed(endpoint, now: .now()) }
                return nil
            case .shutdown where !state.withLock({ $0.isShutDown }):
                return nil  // retired by a discovery after it was picked
            default:
                throw error
            }
        }
    }

    // MARK: Sentinel events

    /// Handles a sentinel event about the service.
    func handle(_ event: SentinelEvent) {
        let now = NIODeadline.now()
        switch event {
        case .switchMaster(let primary): apply { $0.primarySwitched(to: primary, now: now) }
        case .replicaDown(let endpoint): apply { $0.replicaDown(endpoint, now: now) }
        case .replicasChanged: apply { $0.replicasChanged(now: now) }
        }
    }

    // MARK: Performing

    /// Runs `event` on the machine under the lock, then performs its actions.
    private func apply(_ event: (inout SentinelReplicaStateMachine) -> SentinelReplicaStateMachine.Actions) {
        let (actions, checks, retired, started) = state.withLock { state in
            let actions = event(&state.machine)
            var retired: [RedisClient] = []
            for endpoint in actions.retire {
                if let client = state.clients.removeValue(forKey: endpoint) { retired.append(client) }
            }
            var checks: [(RedisEndpoint, RedisClient?)] = []
            var started: [RedisClient] = []
            for endpoint in actions.check {
                if let client = state.clients[endpoint] {
                    checks.append((endpoint, client))
                } else {
                    // The main client validated these settings, so this does not fail in practice;
                    // if it did, the check reports a failure rather than leaving the round open.
                    let client = try? makeClient(for: endpoint)
                    state.clients[endpoint] = client
                    if let client { started.append(client) }
                    checks.append((endpoint, client))
                }
            }
            return (actions, checks, retired, started)
        }
        for client in retired { client.shutdown() }
        for client in started { startSink.yield(client) }
        for (endpoint, client) in checks {
            controlSink.yield { await self.check(endpoint, through: client, round: actions.round) }
        }
        switch actions.schedule {
        case .none: break
        case .startRefresh: controlSink.yield { await self.discover() }
        case .armTimer(let deadline):
            controlSink.yield {
                guard await ClusterRefreshStateMachine.sleep(until: deadline) else { return }
                self.apply { $0.timerFired(now: .now()) }
            }
        }
    }

    /// Runs discoveries, checks and timers as child tasks until shutdown, then cancels them.
    private func runControl() async {
        await withDiscardingTaskGroup { group in
            for await work in controls { group.addTask(operation: work) }
            group.cancelAll()
        }
    }

    private func discover() async {
        do {
            let (primary, replicas) = try await resolver.discoverReplicas()
            apply { $0.discovered(primary: primary, replicas: replicas, now: .now()) }
        } catch {
            logger.debug("sentinel replica discovery failed", metadata: ["redis.error": "\(error)"])
            apply { $0.discoveryFailed(now: .now()) }
        }
    }

    private func check(_ endpoint: RedisEndpoint, through client: RedisClient?, round: Int) async {
        do {
            guard let client else { throw RedisError(.connectionFailed, serverMessage: "no client for the replica") }
            let role = try SentinelNodeRole(roleReply: try await client.send(RawCommand(["ROLE"])))
            apply { $0.roleChecked(endpoint, role: role, round: round, now: .now()) }
        } catch {
            logger.debug("replica check failed", metadata: ["redis.replica": "\(endpoint)", "redis.error": "\(error)"])
            apply { $0.checkFailed(endpoint, round: round, now: .now()) }
        }
    }

    /// A client for one replica whose every connection is checked with `ROLE` against the
    /// primary known at that moment.
    private func makeClient(for endpoint: RedisEndpoint) throws(RedisError) -> RedisClient {
        var configuration = dataNodes
        configuration.endpoint = endpoint
        let discovery = RedisConnectionPool.NodeDiscovery(
            resolve: { () async throws(RedisError) -> RedisEndpoint in endpoint },
            verify: { [weak self] connection async throws(RedisError) in
                try await SentinelResolver.verifyReplica(connection, of: self?.state.withLock { $0.machine.primary })
            }
        )
        return try RedisClient(
            configuration: configuration, pool: poolConfiguration, eventLoop: eventLoop, logger: logger, metrics: metrics,
            discovery: discovery
        )
    }
}
