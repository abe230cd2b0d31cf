import Foundation

/// A private Redis Cluster for tests: primaries with replicas, each node a ``RedisServer``.
///
/// Nodes run with `cluster-enabled yes`, `cluster-node-timeout 2000` and
/// `repl-ping-replica-period 1`, and are joined with `redis-cli --cluster create ...
/// --cluster-replicas N --cluster-yes`. Ready means more than `cluster_state:ok` (Redis 7.0 hides a
/// replica from `CLUSTER SLOTS`/`SHARDS` until its replication offset is non-zero): every node's
/// `CLUSTER NODES` shows all primaries and replicas connected, each replica with a primary id,
/// and its `CLUSTER SLOTS` covers all 16384 slots and lists every node. About 3–4 s for 3+3.
public final class RedisCluster: Sendable {
    /// How to build the cluster.
    public struct Options: Sendable, Hashable {
        /// How many primaries (slots are split evenly among them).
        public var primaries: Int
        /// How many replicas each primary gets.
        public var replicasPerPrimary: Int
        /// Options for every node. Cluster settings are added to ``RedisServer/Options/arguments``;
        /// a ``RedisServer/Options/password`` also becomes `masterauth`. TLS is not supported yet.
        public var node: RedisServer.Options
        /// How long creation may take until every node agrees the cluster is complete.
        public var readyTimeout: Duration

        /// Creates options; the default is 3 primaries with 1 replica each.
        public init(
            primaries: Int = 3,
            replicasPerPrimary: Int = 1,
            node: RedisServer.Options = .init(),
            readyTimeout: Duration = .seconds(30)
        ) {
            self.primaries = primaries
            self.replicasPerPrimary = replicasPerPrimary
            self.node = node
            self.readyTimeout = readyTimeout
        }
    }

    /// The options the cluster was built with.
    public let options: Options
    /// Every node, in creation order (`redis-cli` made the first ``Options/primaries`` primaries).
    public let nodes: [RedisServer]

    /// Each node's address, for seeding a cluster client.
    public var endpoints: [(host: String, port: Int)] { nodes.map { ($0.host, $0.port) } }

    init(options: Options, nodes: [RedisServer]) {
        self.options = options
        self.nodes = nodes
    }

    /// Starts the nodes, creates the cluster and waits until it is complete (see the type's docs).
    public static func start(_ options: Options = .init()) async throws -> RedisCluster {
        guard !options.node.tls else {
            throw RedisServerError.topologyNotReady("TLS clusters are not supported by the harness yet")
        }
        let total = options.primaries * (1 + options.replicasPerPrimary)
        var nodeOptions = options.node
        nodeOptions.port = nil
        nodeOptions.arguments = [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000", "--repl-ping-replica-period", "1",
        ] + (options.node.password.map { ["--masterauth", $0] } ?? []) + options.node.arguments
        let startOptions = nodeOptions

        let nodes = try await withThrowingTaskGroup(of: RedisServer.self) { group in
            for _ in 0..<total { group.addTask { try await RedisServer.start(startOptions) } }
            var started: [RedisServer] = []
            do {
                for try await node in group { started.append(node) }
            } catch {
                for node in started { await node.stop() }
                throw error
            }
            return started
        }
        let cluster = RedisCluster(options: options, nodes: nodes)
        do {
            var argv = ["redis-cli", "--cluster", "create"] + nodes.map { "\($0.host):\($0.port)" }
            argv += ["--cluster-replicas", String(options.replicasPerPrimary), "--cluster-yes"]
            if let password = options.node.password { argv += ["-a", password, "--no-auth-warning"] }
            let result = try await ChildProcess.run(argv, timeout: options.readyTimeout)
            guard result.succeeded else {
                throw RedisServerError.toolFailed(
                    command: argv.joined(separator: " "), status: ChildProcess.describe(status: result.status),
                    output: result.output)
            }
            try await cluster.waitUntilReady(timeout: options.readyTimeout)
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    /// Starts a cluster, runs `body` with it, and stops every node however `body` ends.
    public static func withCluster<T>(
        _ options: Options = .init(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisCluster) async throws -> T
    ) async throws -> T {
        let cluster = try await start(options)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Stops every node (in parallel). Idempotent.
    public func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for node in nodes { group.addTask { await node.stop() } }
        }
    }

    /// Moves `slots` hash slots (keys included) from the primary `sourceID` to the primary
    /// `targetID` with `redis-cli --cluster reshard ... --cluster-yes`, through a running node.
    /// Returns once redis-cli finished; throws if it failed.
    ///
    /// - Parameter pipeline: keys per `MIGRATE` (`--cluster-pipeline`, redis-cli's default is 10).
    public func reshard(
        from sourceID: String, to targetID: String, slots: Int, pipeline: Int = 10, timeout: Duration = .seconds(120)
    ) async throws {
        guard let node = nodes.first(where: \.isRunning) else { throw RedisServerError.notRunning }
        var argv = [
            "redis-cli", "--cluster", "reshard", "\(node.host):\(node.port)", "--cluster-from", sourceID,
            "--cluster-to", targetID, "--cluster-slots", String(slots), "--cluster-yes",
            "--cluster-pipeline", String(pipeline),
        ]
        if let password = options.node.password { argv += ["-a", password, "--no-auth-warning"] }
        let result = try await ChildProcess.run(argv, timeout: timeout)
        guard result.succeeded else {
            throw RedisServerError.toolFailed(
                command: argv.joined(separator: " "), status: ChildProcess.describe(status: result.status),
                output: result.output)
        }
    }

    /// Waits until every running node reports the complete topology: `expectedPrimaries`
    /// primaries and `expectedReplicas` replicas (defaults: as created), all connected, with all
    /// slots served. Use after fault injection (e.g. a killed primary) to wait for a failover.
    public func waitUntilReady(
        timeout: Duration = .seconds(30), expectedPrimaries: Int? = nil, expectedReplicas: Int? = nil
    ) async throws {
        let primaries = expectedPrimaries ?? options.primaries
        let replicas = expectedReplicas ?? options.primaries * options.replicasPerPrimary
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "not checked yet"
        while true {
            if let problem = readinessProblem(primaries: primaries, replicas: replicas) {
                lastProblem = problem
            } else {
                return
            }
            if ContinuousClock.now >= deadline {
                throw RedisServerError.topologyNotReady("cluster after \(timeout): \(lastProblem)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Why the cluster is not ready yet, or nil when it is.
    private func readinessProblem(primaries: Int, replicas: Int) -> String? {
        let running = nodes.filter(\.isRunning)
        for node in running {
            do {
                guard case .bulk(let nodesText?) = try node.command("CLUSTER", "NODES") else {
                    return "\(node.port): CLUSTER NODES gave no text"
                }
                let entries = ClusterNodeEntry.parse(nodesText).filter { !$0.flags.contains("fail") }
                let primaryCount = entries.filter { $0.flags.contains("master") }.count
                let replicaCount = entries.filter { $0.flags.contains("slave") && $0.primaryID != "-" }.count
                guard primaryCount == primaries, replicaCount == replicas else {
                    return "\(node.port) sees \(primaryCount) primaries and \(replicaCount) replicas"
                }
                guard entries.allSatisfy({ $0.linkState == "connected" }) else {
                    return "\(node.port) has links not connected yet"
                }
                guard case .array(let ranges?) = try node.command("CLUSTER", "SLOTS") else {
                    return "\(node.port): CLUSTER SLOTS gave no array"
                }
                var covered = 0
                var listed = Set<String>()
                for case .array(let range?) in ranges where range.count >= 3 {
                    if case .integer(let first) = range[0], case .integer(let last) = range[1] {
                        covered += last - first + 1
                    }
                    for case .array(let endpoint?) in range.dropFirst(2) where endpoint.count >= 3 {
                        if let id = endpoint[2].string { listed.insert(id) }
                    }
                }
                guard covered == 16384, listed.count == primaries + replicas else {
                    return "\(node.port): CLUSTER SLOTS covers \(covered) slots and lists \(listed.count) nodes"
                }
            } catch {
                return "\(node.port): \(error)"
            }
        }
        return nil
    }
}

/// One line of `CLUSTER NODES`.
struct ClusterNodeEntry {
    var id: String
    var address: String
    var flags: [String]
    var primaryID: String
    var linkState: String

    static func parse(_ text: String) -> [ClusterNodeEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 8 else { return nil }
            return ClusterNodeEntry(
                id: fields[0], address: fields[1], flags: fields[2].split(separator: ",").map(String.init),
                primaryID: fields[3], linkState: fields[7])
        }
    }
}
