public import Logging
public import NIOCore
public import NIOPosix
public import RESP
public import ServiceLifecycle

/// A pooled, auto-pipelining Redis client, and a swift-service-lifecycle `Service`.
///
/// Run it (``run()``) for its lifetime, usually in a `ServiceGroup`; commands issued before the
/// pool has connected wait for the first connection. Every command has a deadline covering both
/// the wait for a connection and the round trip. Any number of tasks may share one client:
/// concurrent commands share connections and are written together.
///
/// ```swift
/// let client = try RedisClient(configuration: .init(endpoint: .init(host: "127.0.0.1", port: 6379)))
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await client.run() }
///     try await client.set("greeting", to: "hello", expiration: .seconds(60))
///     let value = try await client.get("greeting")
///     client.shutdown()
/// }
/// ```
///
/// On graceful shutdown the client stops lending connections (new commands fail with
/// `shutdown`), lets in-flight commands finish, closes every connection, and `run()` returns.
public final class RedisClient: RedisCommandExecutor, Service, Sendable {
    private let pool: RedisConnectionPool
    let pubSub: RedisPubSub
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let metrics: RedisMetrics

    /// Creates a client for one server. Nothing connects until ``run()`` starts.
    ///
    /// All of the client's connections live on one event loop taken from `eventLoopGroup`: Redis
    /// executes commands one at a time, and pipelining keeps a single loop far from saturated, so
    /// one loop costs no throughput and lets ``taskExecutor`` remove thread handoffs.
    ///
    /// - Throws: ``RedisError`` when either configuration is incoherent.
    public convenience init(
        configuration: RedisConnectionConfiguration,
        pool: RedisPoolConfiguration = RedisPoolConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "strata.redis"),
        metrics: RedisMetrics = RedisMetrics()
    ) throws(RedisError) {
        try self.init(
            configuration: configuration, pool: pool, eventLoop: eventLoopGroup.next(), logger: logger, metrics: metrics,
            discovery: nil
        )
    }

    /// Creates a client for the primary of a Sentinel-managed service.
    ///
    /// Every connect asks the sentinels for the primary (in order; the one that answers moves to
    /// the front) and checks the node with `ROLE` before using it. When the primary moves —
    /// learnt from `+switch-master` or from a reconnect — connections to the old one drain and
    /// close. `configuration` supplies the data nodes' credentials, TLS and timeouts; its
    /// endpoint is ignored. With ``RedisSentinelConfiguration/readFromReplicas``, read-only
    /// commands go to verified replicas (see there); everything else to the primary.
    ///
    /// - Throws: ``RedisError`` when a configuration is incoherent.
    public convenience init(
        sentinel: RedisSentinelConfiguration,
        configuration: RedisConnectionConfiguration,
        pool: RedisPoolConfiguration = RedisPoolConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "strata.redis"),
        metrics: RedisMetrics = RedisMetrics()
    ) throws(RedisError) {
        try sentinel.validate()
        var seed = configuration
        seed.endpoint = sentinel.sentinels[0]
        let eventLoop = eventLoopGroup.next()
        let resolver = SentinelResolver(configuration: sentinel, eventLoop: eventLoop, logger: logger)
        let discovery = RedisConnectionPool.NodeDiscovery(
            resolve: { () async throws(RedisError) -> RedisEndpoint in try await resolver.resolvePrimary() },
            verify: { connection async throws(RedisError) in try await SentinelResolver.verifyPrimary(connection) }
        )
        try self.init(
            configuration: seed, pool: pool, eventLoop: eventLoop, logger: logger, metrics: metrics, discovery: discovery,
            resolver: resolver
        )
    }

    /// Creates a client whose pool asks `discovery` where to connect and checks every new
    /// connection with it; with `resolver`, it also follows the sentinels' events (and reads
    /// from replicas if the sentinel configuration asks for it).
    init(
        configuration: RedisConnectionConfiguration, pool: RedisPoolConfiguration, eventLoop: any EventLoop,
        logger: Logger, metrics: RedisMetrics, discovery: RedisConnectionPool.NodeDiscovery?,
        resolver: SentinelResolver? = nil
    ) throws(RedisError) {
        try configuration.validate()
        try pool.validate()
        self.pool = RedisConnectionPool(
            connection: configuration, pool: pool, eventLoopGroup: eventLoop, logger: logger, metrics: metrics,
            discovery: discovery
        )
        let connectionPool = self.pool
        self.pubSub = RedisPubSub(
            configuration: { connectionPool.connectionConfiguration }, eventLoop: eventLoop, logger: logger,
            metrics: metrics, pool: pool
        )
        let replicaReads = resolver.flatMap { resolver in
            resolver.configuration.readFromReplicas
                ? SentinelReplicaReads(
                    resolver: resolver, dataNodes: configuration, pool: pool, eventLoop: eventLoop, logger: logger,
                    metrics: metrics)
                : nil
        }
        self.replicaReads = replicaReads
        self.sentinelWatcher = resolver.map {
            SentinelWatcher(
                resolver: $0, pool: connectionPool, replicaReads: replicaReads, eventLoop: eventLoop, logger: logger,
                metrics: metrics, poolConfiguration: pool)
        }
        self.eventLoop = eventLoop
        self.taskExecutor = EventLoopTaskExecutor(eventLoop: eventLoop)
        self.logger = logger
        self.metrics = metrics
    }

    private let sentinelWatcher: SentinelWatcher?
    private let replicaReads: SentinelReplicaReads?

    /// The replicas read-only commands currently go to (Sentinel with
    /// ``RedisSentinelConfiguration/readFromReplicas`` only; empty otherwise, and while no
    /// replica has been verified).
    public var readReplicas: Set<RedisEndpoint> { replicaReads?.readableReplicas ?? [] }

    /// Runs tasks on the event loop of the client's connections; see ``EventLoopTaskExecutor``.
    public let taskExecutor: EventLoopTaskExecutor

    /// The connection settings new connections use.
    public var configuration: RedisConnectionConfiguration { pool.connectionConfiguration }

    /// Runs the pool until graceful shutdown, cancellation or ``shutdown()``; returns once every
    /// connection has closed.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.pubSub.run() }
                    if let watcher = self.sentinelWatcher { group.addTask { await watcher.run() } }
                    if let replicaReads = self.replicaReads { group.addTask { await replicaReads.run() } }
                    await pool.run()
                    // The pool drained: end subscriptions and replica clients too.
                    pubSub.shutdown()
                    sentinelWatcher?.shutdown()
                    replicaReads?.shutdown()
                }
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Begins a graceful shutdown without a `ServiceGroup`: in-flight commands finish, new ones
    /// fail with `shutdown`, subscriptions end with `shutdown`.
    public func shutdown() {
        pool.shutdown()
        pubSub.shutdown()
        sentinelWatcher?.shutdown()
        replicaReads?.shutdown()
    }

    /// Points the client at new settings (a server that moved to another port or host, rotated
    /// credentials). New commands use new connections; old connections close once idle.
    public func reconfigure(_ configuration: RedisConnectionConfiguration) throws(RedisError) {
        try configuration.validate()
        pool.updateConnectionConfiguration(configuration)
    }

    /// Sends one command on a pooled connection.
    ///
    /// With Sentinel replica reads on, a read-only command goes to a verified replica instead;
    /// if that replica's connection fails, the command is sent to the primary within the same
    /// deadline.
    ///
    /// - Parameter timeout: covers waiting for a connection and the round trip; defaults to the
    ///   configuration's `commandTimeout`.
    public func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount?) async throws(RedisError) -> Command.Response {
        var now = NIODeadline.now()
        let deadline = now + (timeout ?? pool.commandTimeout)
        if let replicaReads, ReplicaReadPolicy.isReadOnly(command) {
            if let response = try await replicaReads.read(command, deadline: deadline) { return response }
            now = .now()
        }
        let lease = try await lease(naming: Command.name, deadline: deadline, now: now)
        defer { pool.release(lease) }
        return try await lease.connection.send(command, deadline: .by(deadline))
    }

    /// Sends several commands in one round trip on one pooled connection (the primary's, with
    /// Sentinel).
    public func pipeline(_ commands: [any RedisCommand], timeout: TimeAmount?) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        let now = NIODeadline.now()
        let deadline = now + (timeout ?? pool.commandTimeout)
        let lease = try await lease(naming: "PIPELINE", deadline: deadline, now: now)
        defer { pool.release(lease) }
        return try await lease.connection.pipeline(commands, deadline: .by(deadline))
    }

    /// Opens a connection of its own (outside the pool) for commands that change connection
    /// state — `SELECT`, `MULTI`, `CLIENT TRACKING`, blocking reads — and closes it afterwards.
    public func withDedicatedConnection<Result: Sendable>(
        _ body: (RedisConnection) async throws -> Result
    ) async throws -> Result {
        try await openDedicatedConnection().closing(body)
    }

    /// Opens a connection outside the pool with the client's settings, event loop, logger and
    /// metrics; the caller closes it.
    func openDedicatedConnection(
        pushHandler: (@Sendable (RESPToken) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        try await RedisConnection.connect(
            configuration: pool.connectionConfiguration, eventLoop: eventLoop, logger: logger, metrics: metrics,
            pushHandler: pushHandler
        )
    }

    /// The pool settings; its backoff also paces the client's dedicated connections.
    var poolConfiguration: RedisPoolConfiguration { pool.poolConfiguration }

    /// Leases a pooled connection; a failure names `command`. A free slot is taken without
    /// suspending (no async frame, no continuation); only a caller that must queue awaits.
    /// The connection then gets `deadline` itself, but never less than a millisecond.
    @inline(__always)
    private func lease(naming command: String, deadline: NIODeadline, now: NIODeadline) async throws(RedisError) -> RedisConnectionPool.Lease {
        do {
            switch try pool.startLease(deadline: deadline, now: now) {
            case .leased(let lease): return lease
            case .waiting(let waiterID): return try await pool.waitForLease(waiterID)
            }
        } catch {
            throw error.naming(command: command)
        }
    }
}
