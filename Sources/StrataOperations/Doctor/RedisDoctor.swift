public import Logging
public import Redis
import NIOCore
import RESP

/// Audits a live Redis deployment against the production checklist and returns a ``DoctorReport``.
///
/// For a standalone node it reads one ``DoctorSnapshot``. When the node has `cluster_enabled:1`
/// it reads `CLUSTER SHARDS` and audits every node of the map too. For a Sentinel target it asks
/// the sentinels for the primary and replicas, checks the quorum, and audits each data node.
/// Nodes are audited one after the other, each over its own short-lived connection; a node that
/// cannot be reached becomes a `CRIT` finding in the report rather than an error.
public struct RedisDoctor: Sendable {
    /// What to audit.
    public var target: DoctorTarget
    /// How the server is meant to be used, and the thresholds.
    public var policy: DoctorPolicy
    /// What to read from each node.
    public var collector: DoctorCollector
    /// Debug logs of what was read.
    public var logger: Logger

    /// Creates a doctor.
    public init(
        target: DoctorTarget, policy: DoctorPolicy = DoctorPolicy(), collector: DoctorCollector = DoctorCollector(),
        logger: Logger = Logger(label: "strata.doctor")
    ) {
        self.target = target
        self.policy = policy
        self.collector = collector
        self.logger = logger
    }

    /// Runs the audit.
    ///
    /// - Throws: ``RedisError`` when the first node (or every sentinel) cannot be reached or
    ///   refuses `INFO`; problems with further nodes are findings instead.
    public func run() async throws(RedisError) -> DoctorReport {
        switch target {
        case .node(let configuration):
            return try await auditNode(configuration)
        case .sentinel(let sentinels, let service, let nodes):
            return try await auditSentinel(sentinels: sentinels, service: service, nodes: nodes)
        }
    }

    private func auditNode(_ configuration: RedisConnectionConfiguration) async throws(RedisError) -> DoctorReport {
        let seed = try await withConnection(configuration) { connection throws(RedisError) in
            try await collector.collect(
                from: connection, node: "\(configuration.endpoint)", endpoint: configuration.endpoint, readShards: true
            )
        }
        let seedReport = nodeReport(seed)
        guard let topology = seed.cluster?.topology else {
            return DoctorReport(
                kind: seed.cluster == nil ? .standalone : .cluster, target: target.description, use: policy.use,
                nodes: [seedReport]
            )
        }
        var reports = [seedReport]
        let others = topology.nodes.map(\.endpoint).filter { $0 != configuration.endpoint }
        for endpoint in Set(others).sorted(by: { $0.description < $1.description }) {
            var nodeConfiguration = configuration
            nodeConfiguration.endpoint = endpoint
            reports.append(await auditOrReportUnreachable(nodeConfiguration))
        }
        return DoctorReport(kind: .cluster, target: target.description, use: policy.use, nodes: reports)
    }

    private func auditSentinel(
        sentinels: [RedisEndpoint], service: String, nodes: RedisConnectionConfiguration
    ) async throws(RedisError) -> DoctorReport {
        var lastError = RedisError(.noSentinelReachable)
        for sentinel in sentinels {
            var sentinelConfiguration = RedisConnectionConfiguration(endpoint: sentinel, tls: nodes.tls)
            sentinelConfiguration.connectTimeout = nodes.connectTimeout
            sentinelConfiguration.commandTimeout = nodes.commandTimeout
            let facts: (DoctorSentinelFacts, [RedisEndpoint])
            do {
                facts = try await withConnection(sentinelConfiguration) { connection throws(RedisError) in
                    try await readSentinel(connection, sentinel: sentinel, service: service)
                }
            } catch {
                logger.debug("sentinel did not answer", metadata: ["redis.sentinel": "\(sentinel)", "redis.error": "\(error)"])
                lastError = error
                continue
            }
            var reports: [DoctorReport.Node] = []
            for endpoint in facts.1 {
                var nodeConfiguration = nodes
                nodeConfiguration.endpoint = endpoint
                reports.append(await auditOrReportUnreachable(nodeConfiguration))
            }
            return DoctorReport(
                kind: .sentinel, target: target.description, use: policy.use, topologyFindings: facts.0.findings, nodes: reports
            )
        }
        throw lastError
    }

    /// Asks one sentinel about the service; returns the facts and the data nodes (primary first).
    private func readSentinel(
        _ connection: RedisConnection, sentinel: RedisEndpoint, service: String
    ) async throws(RedisError) -> (DoctorSentinelFacts, [RedisEndpoint]) {
        let address = DoctorParsing.elements(
            RESPValue(try await connection.send(RawCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", service])))
        ).compactMap(DoctorParsing.text)
        guard address.count == 2, let port = Int(address[1]) else {
            throw RedisError(.sentinelUnknownService, serverMessage: "the sentinel does not know the service")
        }
        let primary = RedisEndpoint(host: address[0], port: port)
        let replicas = DoctorParsing.elements(
            RESPValue(try await connection.send(RawCommand(["SENTINEL", "REPLICAS", service])))
        ).map { Dictionary(DoctorParsing.keyValuePairs($0).compactMap { key, value in DoctorParsing.text(value).map { (key, $0) } }) { first, _ in first } }
        let others = DoctorParsing.elements(RESPValue(try await connection.send(RawCommand(["SENTINEL", "SENTINELS", service]))))
        var quorumProblem: String?
        do {
            _ = try await connection.send(RawCommand(["SENTINEL", "CKQUORUM", service]))
        } catch {
            quorumProblem = error.serverCode ?? error.code.description
        }
        var endpoints = [primary]
        var unhealthy = 0
        for replica in replicas {
            let flags = replica["flags"] ?? ""
            if flags.contains("s_down") || flags.contains("o_down") || flags.contains("disconnected") { unhealthy += 1 }
            if let host = replica["ip"], let port = replica["port"].flatMap({ Int($0) }) {
                endpoints.append(RedisEndpoint(host: host, port: port))
            }
        }
        let facts = DoctorSentinelFacts(
            service: service, sentinel: "\(sentinel)", primary: "\(primary)", replicas: replicas.count,
            unhealthyReplicas: unhealthy, otherSentinels: others.count, quorumProblem: quorumProblem
        )
        return (facts, endpoints)
    }

    private func auditOrReportUnreachable(_ configuration: RedisConnectionConfiguration) async -> DoctorReport.Node {
        do {
            let snapshot = try await withConnection(configuration) { connection throws(RedisError) in
                try await collector.collect(from: connection, node: "\(configuration.endpoint)", endpoint: configuration.endpoint)
            }
            return nodeReport(snapshot)
        } catch {
            let finding = DoctorFinding(
                id: "doctor.unreachable", category: .doctor, severity: .crit, title: "the node could not be audited (\(error.code))",
                evidence: [DoctorEvidence("error", error.description)],
                advice: "A node of the deployment is unreachable or refuses INFO: check that it is up and that the credentials work on every node."
            )
            return DoctorReport.Node(node: "\(configuration.endpoint)", role: "unknown", version: nil, findings: [finding])
        }
    }

    private func nodeReport(_ snapshot: DoctorSnapshot) -> DoctorReport.Node {
        logger.debug("audited node", metadata: ["redis.node": "\(snapshot.node)", "doctor.unreadable": "\(snapshot.unreadable.count)"])
        return DoctorReport.Node(
            node: snapshot.node, role: snapshot.role, version: snapshot.info["redis_version"],
            findings: DoctorRule.evaluate(snapshot, policy: policy)
        )
    }

    private func withConnection<T>(
        _ configuration: RedisConnectionConfiguration, _ body: (RedisConnection) async throws(RedisError) -> T
    ) async throws(RedisError) -> T {
        try await RedisConnection.connect(configuration: configuration, logger: logger).closing(body)
    }
}
