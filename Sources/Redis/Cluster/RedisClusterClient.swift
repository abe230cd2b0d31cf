public import Logging
public import NIOCore
public import NIOPosix
import RESP
public import ServiceLifecycle
import Synchronization

// The cluster client's shell: the slot map, one RedisClient per node, and the refresh loop.
//
// run() owns two task groups. The outer one runs every node's RedisClient (added as nodes are
// learnt, ended by shutting the node client down when a refresh drops it, so its in-flight
// commands drain). The inner one runs refreshes and refresh timers and is cancelled at shutdown.
// ClusterRefreshStateMachine decides when to refresh; its actions become events for the inner
// group, so there is one refresh at a time and requests coalesce. Routing lives in
// RedisClusterClient+Routing.swift.

/// A Redis Cluster client: routes each command to the primary serving its key's hash slot, and
/// follows `MOVED`, `ASK`, `TRYAGAIN` and `CLUSTERDOWN` within the command's deadline.
///
/// It is a swift-service-lifecycle `Service`. Run it (``run()``) for its lifetime: it reads the
/// slot map (`CLUSTER SHARDS`) from the seeds, keeps one pooled ``RedisClient`` per primary,
/// re-reads the map periodically and whenever a `MOVED` says it is stale, and shuts every node
/// client down on graceful shutdown or ``shutdown()``.
///
/// ```swift
/// let cluster = try RedisClusterClient(
///     seeds: [RedisEndpoint(host: "10.0.0.1", port: 6379), RedisEndpoint(host: "10.0.0.2", port: 6379)],
///     configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "unused"))
/// )
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await cluster.run() }
///     try await cluster.set("greeting", to: "hello")
///     let value = try await cluster.get("greeting")
///     cluster.shutdown()
/// }
/// ```
///
/// See <doc:Cluster> for routing, redirects, failure behaviour and what is not supported yet.
public final class RedisClusterClient: Service, Sendable {
    /// The nodes asked for the slot map before any map is known (and after every known node).
    public let seeds: [RedisEndpoint]
    /// Credentials, TLS, protocol and timeouts for every node; its endpoint is ignored.
    public let configuration: RedisConnectionConfiguration
    /// The pool settings of each node's client.
    public let poolConfiguration: RedisPoolConfiguration
    /// How many `MOVED`/`ASK` redirects one command may follow before it fails with
    /// `tooManyRedirects`.
    public let maximumRedirects: Int
    /// Whether read-only commands go to replicas (see `init`).
    public let readFromReplicas: Bool

    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let metrics: RedisMetrics
    let state: Mutex<State>
    let counters = ClusterCounters()

    /// Node clients to run (outer task group).
    private let nodeStarts: AsyncStream<RedisClient>
    private let nodeStartSink: AsyncStream<RedisClient>.Continuation
    /// Refreshes and timers to run (inner task group).
    private let controls: AsyncStream<Control>
    private let controlSink: AsyncStream<Control>.Continuation

    enum Control: Sendable {
        case startRefresh
        case armTimer(NIODeadline)
    }

    struct State: Sendable {
        var topology: ClusterTopology?
        /// One client per node the client has routed to or the map lists as a primary.
        var nodes: [RedisEndpoint: RedisClient] = [:]
        var refresh: ClusterRefreshStateMachine
        /// Why the last refresh failed (reported when a command cannot be routed at all).
        var lastRefreshError: RedisError?
        var refreshCount = 0
        var isRunning = false
        var isShutDown = false
        /// Called with every installed map, after the lock (tracking sessions follow the map).
        var topologyObservers: [Int: @Sendable (ClusterTopology) -> Void] = [:]
        var nextObserverID = 0
    }

    /// Creates a cluster client. Nothing connects until ``run()`` starts.
    ///
    /// - Parameters:
    ///   - seeds: nodes to read the slot map from (any node of the cluster will do; give several).
    ///   - configuration: credentials, TLS, protocol version and timeouts for every node; its
    ///     `endpoint` is ignored. `commandTimeout` is the default deadline of a routed command,
    ///     redirects and retries included.
    ///   - pool: the pool settings of each node's client.
    ///   - maximumRedirects: how many `MOVED`/`ASK` one command may follow (default 5).
    ///   - readFromReplicas: send read-only commands (`GET`, `MGET`, `HGETALL`, `XRANGE`, ...)
    ///     to a random healthy replica of their slot's shard, over connections that sent
    ///     `READONLY` (default false). Replication is asynchronous: such a read may not see a
    ///     write acknowledged just before. Pipelines, scripts and transactions stay on primaries.
    ///   - refreshInterval: how often the map is re-read unprompted (default 30 s; nil for never).
    ///   - minimumRefreshSpacing: the least time between two refreshes (default 250 ms). After a
    ///     failover, commands to the lost slots resume at most about this long after the new
    ///     primary appears in the nodes' maps.
    /// - Throws: ``RedisError`` when a configuration is incoherent or `seeds` is empty.
    public init(
        seeds: [RedisEndpoint],
        configuration: RedisConnectionConfiguration,
        pool: RedisPoolConfiguration = RedisPoolConfiguration(),
        maximumRedirects: Int = 5,
        readFromReplicas: Bool = false,
        refreshInterval: TimeAmount? = .seconds(30),
        minimumRefreshSpacing: TimeAmount = .milliseconds(250),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "strata.redis.cluster"),
        metrics: RedisMetrics = RedisMetrics()
    ) throws(RedisError) {
        try configuration.validate()
        try pool.validate()
        guard !seeds.isEmpty else {
            throw RedisError(.connectionFailed, serverMessage: "invalid configuration: a cluster client needs seeds")
        }
        guard maximumRedirects >= 1 else {
            throw RedisError(.connectionFailed, serverMessage: "invalid configuration: maximumRedirects must be >= 1")
        }
        self.seeds = seeds
        self.configuration = configuration
        self.poolConfiguration = pool
        self.maximumRedirects = maximumRedirects
        self.readFromReplicas = readFromReplicas
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.metrics = metrics
        let refresh = ClusterRefreshStateMachine(
            configuration: .init(periodicInterval: refreshInterval, minimumSpacing: minimumRefreshSpacing),
            now: .now()
        )
        self.state = Mutex(State(refresh: refresh))
        (nodeStarts, nodeStartSink) = AsyncStream.makeStream(of: RedisClient.self)
        (controls, controlSink) = AsyncStream.makeStream(of: Control.self)
    }

    /// The slot map in use, or nil before the first refresh succeeded.
    public var topology: ClusterTopology? { state.withLock { $0.topology } }

    /// Why the latest refresh failed, or nil if it succeeded (or none has finished yet).
    public var lastRefreshError: RedisError? { state.withLock { $0.lastRefreshError } }

    /// How many refreshes have succeeded (the first map included).
    public var refreshCount: Int { state.withLock { $0.refreshCount } }

    /// How many `MOVED`, `ASK`, `TRYAGAIN` and `CLUSTERDOWN` replies the client has handled.
    public var redirectStatistics: ClusterRedirectStatistics { counters.snapshot }

    /// The nodes the client currently keeps a pooled client for.
    public var nodeEndpoints: Set<RedisEndpoint> { state.withLock { Set($0.nodes.keys) } }

    /// Reads the slot map, runs the node clients and refreshes until graceful shutdown,
    /// cancellation or ``shutdown()``; returns once every node client has stopped.
    ///
    /// - Throws: ``RedisError`` `shutdown` if the client already ran.
    public func run() async throws {
        let first = state.withLock { state in
            defer { state.isRunning = true }
            return !state.isRunning && !state.isShutDown
        }
        guard first else { throw RedisError(.shutdown) }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { nodes in
                    nodes.addTask { await self.runControl() }
                    self.requestRefresh()
                    for await client in self.nodeStarts {
                        nodes.addTask { try? await client.run() }
                    }
                }
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Runs refreshes and refresh timers until shutdown, then cancels them.
    private func runControl() async {
        await withDiscardingTaskGroup { group in
            for await control in controls {
                switch control {
                case .startRefresh:
                    group.addTask { await self.refresh() }
                case .armTimer(let deadline):
                    group.addTask {
                        guard await ClusterRefreshStateMachine.sleep(until: deadline) else { return }
                        let action = self.state.withLock { $0.refresh.timerFired(now: .now()) }
                        self.perform(action)
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Begins a graceful shutdown: refreshing stops, every node client stops lending connections
    /// (new commands fail with `shutdown`) and closes once its in-flight commands finish.
    public func shutdown() {
        let clients = state.withLock { state -> [RedisClient] in
            guard !state.isShutDown else { return [] }
            state.isShutDown = true
            state.refresh.shutdown()
            defer { state.nodes = [:] }
            return Array(state.nodes.values)
        }
        nodeStartSink.finish()
        controlSink.finish()
        for client in clients { client.shutdown() }
    }

    /// Asks for the slot map to be re-read soon. Requests coalesce: at most one refresh runs at
    /// a time, at most one follows it, and refreshes are spaced by `minimumRefreshSpacing`.
    public func requestRefresh() {
        let action = state.withLock { $0.refresh.refreshRequested(now: .now()) }
        perform(action)
    }

    private func perform(_ action: ClusterRefreshStateMachine.Action) {
        switch action {
        case .none: break
        case .startRefresh: controlSink.yield(.startRefresh)
        case .armTimer(let deadline): controlSink.yield(.armTimer(deadline))
        }
    }

    // MARK: Nodes

    /// The client for `endpoint`, created (and handed to run()) if there is none yet.
    func client(for endpoint: RedisEndpoint) throws(RedisError) -> RedisClient {
        try state.withLock { state throws(RedisError) -> RedisClient in try addClient(for: endpoint, in: &state) }
    }

    private func addClient(for endpoint: RedisEndpoint, in state: inout State) throws(RedisError) -> RedisClient {
        guard !state.isShutDown else { throw RedisError(.shutdown) }
        if let client = state.nodes[endpoint] { return client }
        var nodeConfiguration = configuration
        nodeConfiguration.endpoint = endpoint
        // READONLY is harmless on a primary, and a node may change role: every node gets it.
        nodeConfiguration.readOnlyReplica = readFromReplicas
        let client = try RedisClient(
            configuration: nodeConfiguration, pool: poolConfiguration, eventLoopGroup: eventLoopGroup, logger: logger,
            metrics: metrics
        )
        // A lost subscription connection may mean a failover: have the map re-read.
        client.pubSub.onConnectionLoss { [weak self] in self?.requestRefresh() }
        state.nodes[endpoint] = client
        nodeStartSink.yield(client)
        return client
    }

    // MARK: Refreshing

    /// Reads the map from up to two nodes (three if those two disagree), known primaries first,
    /// then the seeds; installs the view most of them share and reconciles the node clients.
    private func refresh() async {
        let candidates = state.withLock { state -> [RedisEndpoint] in
            var seen = Set<RedisEndpoint>()
            let known = state.topology?.shards.compactMap { $0.primary?.endpoint } ?? []
            return (known + seeds).filter { seen.insert($0).inserted }
        }
        var views: [ClusterTopology] = []
        var lastError: RedisError?
        for endpoint in candidates {
            if Task.isCancelled { return }
            let wanted = views.count == 2 && ClusterTopology.crossCheck(views: views)?.isUnanimous == false ? 3 : 2
            if views.count >= wanted { break }
            do {
                views.append(try await fetchView(from: endpoint))
            } catch {
                lastError = error
                logger.debug("cluster map refresh: node failed", metadata: ["node": "\(endpoint)", "error": "\(error)"])
            }
        }
        let chosen = ClusterTopology.crossCheck(views: views)?.topology
        guard let chosen, chosen.assignedSlotCount > 0 else {
            let error = lastError ?? RedisError(.unexpectedReply, serverMessage: "no node returned a usable slot map")
            let action = state.withLock { state in
                state.lastRefreshError = error
                return state.refresh.refreshFailed(now: .now())
            }
            logger.warning("cluster map refresh failed", metadata: ["error": "\(error)"])
            perform(action)
            return
        }
        install(chosen)
    }

    /// Installs a new map: node clients for new primaries (and replicas, with replica reads)
    /// start, clients for nodes no longer wanted shut down (their in-flight commands finish).
    private func install(_ topology: ClusterTopology) {
        let (action, retired, observers) = state.withLock {
            state -> (ClusterRefreshStateMachine.Action, [RedisClient], [@Sendable (ClusterTopology) -> Void]) in
            guard !state.isShutDown else { return (.none, [], []) }
            if let previous = state.topology, case let diff = topology.diff(from: previous), !diff.isEmpty {
                logger.info(
                    "cluster map changed",
                    metadata: [
                        "added": "\(diff.addedEndpoints.count)", "removed": "\(diff.removedEndpoints.count)",
                        "movedSlots": "\(diff.movedSlotCount)",
                    ])
            }
            state.topology = topology
            state.refreshCount += 1
            state.lastRefreshError = nil
            var wanted = Set(topology.shards.compactMap { $0.primary?.endpoint })
            if readFromReplicas { wanted.formUnion(topology.shards.flatMap(\.routableReplicas).map(\.endpoint)) }
            var retired: [RedisClient] = []
            for (endpoint, client) in state.nodes where !wanted.contains(endpoint) {
                state.nodes[endpoint] = nil
                retired.append(client)
            }
            for endpoint in wanted { _ = try? addClient(for: endpoint, in: &state) }
            return (state.refresh.refreshSucceeded(now: .now()), retired, Array(state.topologyObservers.values))
        }
        for client in retired { client.shutdown() }
        for observer in observers { observer(topology) }
        perform(action)
    }

    /// One node's view: `CLUSTER SHARDS`, or `CLUSTER SLOTS` from a server older than 7.0.
    private func fetchView(from endpoint: RedisEndpoint) async throws(RedisError) -> ClusterTopology {
        var nodeConfiguration = configuration
        nodeConfiguration.endpoint = endpoint
        let connection = try await RedisConnection.connect(
            configuration: nodeConfiguration, eventLoop: eventLoopGroup.any(), logger: logger, metrics: metrics
        )
        do {
            let topology: ClusterTopology
            do {
                let reply = try await connection.send(RawCommand(["CLUSTER", "SHARDS"]), timeout: configuration.commandTimeout)
                topology = try ClusterTopology(shardsReply: reply, askedNode: endpoint, useTLSPort: configuration.tls != nil)
            } catch where error.code == .err {
                let reply = try await connection.send(RawCommand(["CLUSTER", "SLOTS"]), timeout: configuration.commandTimeout)
                topology = try ClusterTopology(slotsReply: reply, askedNode: endpoint)
            }
            await connection.close()
            return topology
        } catch {
            await connection.close()
            throw error
        }
    }
}
