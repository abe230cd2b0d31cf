import Logging
import NIOCore
import RESP
import Synchronization

// Client tracking over a cluster: one TrackingSession (a dedicated RESP3 connection with
// CLIENT TRACKING ON) per primary. A tracked read is routed like any cluster command (slot ->
// primary, MOVED, ASK, TRYAGAIN, CLUSTERDOWN within the deadline), but sent on the tracking
// connection of the node it lands on, so that node tracks the key.
//
// What invalidates local copies:
// - an invalidation push from any node: passed on as is (keys, or `.all(.flushed)` for a
//   FLUSHALL on that node, which flushes everything locally: the reader does not know which
//   keys came from which node);
// - the loss of any node's tracking connection: `.all(.disconnected)` (that node's
//   invalidations may have been missed), then that session reconnects with backoff;
// - a new slot map in which some slot has a different primary (a reshard, a failover):
//   `.all(.topologyChanged)`. A key migrated off a node is deleted there, which invalidates it;
//   but a key *absent* when read (cached as a miss) produces no invalidation when its slot moves
//   and it is then written on the new owner. So every slot move flushes everything. This is the
//   simple correct choice: flushing only the moved slots' keys would need the local cache to
//   index keys by slot, and slot moves are rare.
// The map is re-read by the cluster client on the first MOVED (or periodically), so a slot that
// moves without any command touching it is noticed at the next periodic refresh; until then,
// reads of that slot still go to (and are tracked by) the old owner, which answers MOVED.

/// How a cluster's tracking sessions follow a new slot map: sessions to open and close, and
/// whether to flush local copies. Pure, so it is tested without a cluster.
struct ClusterTrackingPlan: Hashable, Sendable {
    /// Primaries without a tracking session.
    var open: [RedisEndpoint]
    /// Sessions to nodes that are no longer primaries.
    var close: [RedisEndpoint]
    /// Whether some slot changed owner since `previous`.
    var flush: Bool

    /// The plan for going from `previous` (nil before the first map) to `next` while `tracked`
    /// nodes have sessions.
    ///
    /// - Complexity: O(16384) to compare slot owners, plus the nodes.
    init(tracked: Set<RedisEndpoint>, previous: ClusterTopology?, next: ClusterTopology) {
        let primaries = Set(next.shards.compactMap { $0.primary?.endpoint })
        let order = { (a: RedisEndpoint, b: RedisEndpoint) in (a.host, a.port) < (b.host, b.port) }
        open = primaries.subtracting(tracked).sorted(by: order)
        close = tracked.subtracting(primaries).sorted(by: order)
        flush = previous.map { next.diff(from: $0).movedSlotCount > 0 } ?? false
    }
}

/// One tracking session per primary of a cluster, following its slot map.
final class ClusterTrackingSession: Sendable {
    private struct State: Sendable {
        var nodes: [RedisEndpoint: TrackingSession] = [:]
        /// The map the sessions follow; nil until ``start()`` read the first one.
        var topology: ClusterTopology?
        var closed = false
    }

    let options: RedisTrackingOptions
    private let cluster: RedisClusterClient
    private let onInvalidation: @Sendable (RedisInvalidation) -> Void
    private let state = Mutex(State())
    /// Node sessions to run and close, as child tasks of ``run()``.
    private let work: AsyncStream<@Sendable () async -> Void>
    private let workSink: AsyncStream<@Sendable () async -> Void>.Continuation

    init(cluster: RedisClusterClient, options: RedisTrackingOptions, onInvalidation: @escaping @Sendable (RedisInvalidation) -> Void) {
        self.cluster = cluster
        self.options = options
        self.onInvalidation = onInvalidation
        (work, workSink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    }

    /// Runs the node sessions until ``close()``.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await item in work { group.addTask(operation: item) }
            group.cancelAll()
        }
    }

    /// Waits for the cluster's slot map (up to the configuration's `commandTimeout`), then opens
    /// a tracking session per primary.
    ///
    /// - Throws: the refresh failure or `timeout` when no map arrived in time; the first
    ///   connect error when no primary's tracking connection could be opened (a primary that
    ///   fails is retried in the background, and reads of its slots fail fast meanwhile).
    func start() async throws(RedisError) {
        let topology = try await cluster.waitForTopology(deadline: .now() + cluster.configuration.commandTimeout)
        guard let (opened, closed, _) = state.withLock({ reconcile(&$0, with: topology) }) else { throw RedisError(.shutdown) }
        for session in closed { workSink.yield { await session.close() } }
        let errors = await withTaskGroup(of: RedisError?.self) { group in
            for session in opened {
                group.addTask {
                    do throws(RedisError) {
                        try await session.connect()
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var errors: [RedisError] = []
            for await error in group { if let error { errors.append(error) } }
            return errors
        }
        for session in opened { workSink.yield { await session.maintain() } }
        if errors.count == opened.count, let first = errors.first { throw first }
    }

    /// Follows a new slot map (called by the cluster client after it installed one).
    func topologyChanged(_ topology: ClusterTopology) {
        // Before start() read the first map there is nothing to follow, nor anything cached.
        guard let (opened, closed, flush) = state.withLock({ $0.topology == nil ? nil : reconcile(&$0, with: topology) }) else {
            return
        }
        if flush { onInvalidation(.all(.topologyChanged)) }
        for session in closed { workSink.yield { await session.close() } }
        for session in opened { workSink.yield { await session.maintain() } }
    }

    /// Closes every node session and ends ``run()``.
    func close() async {
        let sessions = state.withLock { state in
            state.closed = true
            defer { state.nodes = [:] }
            return Array(state.nodes.values)
        }
        workSink.finish()
        for session in sessions { await session.close() }
    }

    // MARK: Reads

    /// Sends `command` on the tracking connection of the node serving its keys.
    func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount?) async throws(RedisError) -> Command.Response {
        let slot = try Self.slot(of: command.keys, name: Command.name)
        return try await routed(Command.name, slot: slot, timeout: timeout) { connection, asking, timeout throws(RedisError) in
            try await RedisClusterClient.attempt(command, on: connection, asking: asking, timeout: timeout)
        }
    }

    /// Sends `commands` as one pipeline on the tracking connection of the node serving `key`,
    /// following redirects: a redirect answered to any of them resends the whole pipeline.
    func pipeline(_ commands: [any RedisCommand], key: String) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        try await routed("PIPELINE", slot: HashSlot(key: key), timeout: nil) { connection, asking, timeout throws(RedisError) in
            let sent: [any RedisCommand] = asking ? [RawCommand(["ASKING"])] + commands : commands
            let results = try await connection.pipeline(sent, timeout: timeout)
            for case .failure(let error) in results where Self.redirectCodes.contains(error.code) { throw error }
            return Array(results.suffix(commands.count))
        }
    }

    // MARK: Helpers

    private static let redirectCodes: Set<RedisError.Code> = [.moved, .ask, .tryAgain, .clusterDown]

    private func routed<Response>(
        _ name: String, slot: HashSlot?, timeout: TimeAmount?,
        attempt: (RedisConnection, Bool, TimeAmount) async throws(RedisError) -> Response
    ) async throws(RedisError) -> Response {
        let deadline = NIODeadline.now() + (timeout ?? cluster.configuration.commandTimeout)
        return try await cluster.routed(
            name, slot: slot, read: false, deadline: deadline,
            node: { endpoint throws(RedisError) in try connection(to: endpoint) }, attempt: attempt
        )
    }

    /// The tracking connection to `endpoint`; fails fast when there is none (yet).
    private func connection(to endpoint: RedisEndpoint) throws(RedisError) -> RedisConnection {
        guard let session = state.withLock({ $0.nodes[endpoint] }) else {
            throw RedisError(.connectionClosed, serverMessage: "no tracking connection to that node yet")
        }
        return try session.currentConnection()
    }

    private static func slot(of keys: [String], name: String) throws(RedisError) -> HashSlot? {
        switch ClusterKeyPlacement(keys: keys) {
        case .anyPrimary: return nil
        case .slot(let slot): return slot
        case .crossSlot: throw .crossSlot(command: name)
        }
    }

    /// Applies ``ClusterTrackingPlan`` under the lock: new sessions are registered (not yet
    /// connected), closed ones removed. Nil once closed.
    private func reconcile(
        _ state: inout State, with topology: ClusterTopology
    ) -> (opened: [TrackingSession], closed: [TrackingSession], flush: Bool)? {
        guard !state.closed else { return nil }
        let plan = ClusterTrackingPlan(tracked: Set(state.nodes.keys), previous: state.topology, next: topology)
        state.topology = topology
        let closed = plan.close.compactMap { state.nodes.removeValue(forKey: $0) }
        var opened: [TrackingSession] = []
        for endpoint in plan.open {
            let session = makeSession(for: endpoint)
            state.nodes[endpoint] = session
            opened.append(session)
        }
        return (opened, closed, plan.flush)
    }

    /// A session whose connections go to `endpoint` with the cluster's settings (without
    /// `READONLY`: tracking connections serve primaries only).
    private func makeSession(for endpoint: RedisEndpoint) -> TrackingSession {
        var nodeConfiguration = cluster.configuration
        nodeConfiguration.endpoint = endpoint
        let configuration = nodeConfiguration
        let cluster = self.cluster
        return TrackingSession(options: options, backoff: cluster.poolConfiguration, onInvalidation: onInvalidation) {
            handler async throws(RedisError) in
            try await RedisConnection.connect(
                configuration: configuration, eventLoop: cluster.eventLoopGroup.any(), logger: cluster.logger,
                metrics: cluster.metrics, pushHandler: handler
            )
        }
    }
}
