extension DoctorRule {
    /// Replication: role, link status, replica lag.
    static let replicationRules: [DoctorRule] = [replicationRole, replicationLink, replicaLag]
    /// Cluster: state, slot coverage, shards without replicas.
    static let clusterRules: [DoctorRule] = [clusterState, clusterSlots, clusterReplicas]

    /// All 16384 hash slots.
    static let clusterSlotCount = 16384

    /// The `slaveN` entries of `INFO replication`, parsed.
    static func replicas(of snapshot: DoctorSnapshot) -> [[String: String]] {
        let count = snapshot.infoInt("connected_slaves") ?? 0
        return (0..<count).compactMap { index in snapshot.info["slave\(index)"].map(DoctorParsing.subfields) }
    }

    static let replicationRole = DoctorRule(id: "replication.role", category: .replication) { snapshot, _, report in
        guard let role = snapshot.info["role"] else { return [] }
        if role == "slave" {
            let primary = "\(snapshot.info["master_host"] ?? "?"):\(snapshot.info["master_port"] ?? "?")"
            return [report(.info, "replica of \(primary)", [DoctorEvidence("role", role), DoctorEvidence("master", primary)])]
        }
        let count = replicas(of: snapshot).count
        return [
            report(
                .info, count == 0 ? "primary without replicas" : "primary with \(count) replica(s)",
                [DoctorEvidence("role", role), DoctorEvidence("connected_slaves", String(count))]
            )
        ]
    }

    static let replicationLink = DoctorRule(id: "replication.link", category: .replication) { snapshot, policy, report in
        guard snapshot.info["role"] == "slave" else { return [] }
        let status = snapshot.info["master_link_status"] ?? "unknown"
        let lastIO = snapshot.infoInt("master_last_io_seconds_ago") ?? -1
        let evidence = [
            DoctorEvidence("master_link_status", status), DoctorEvidence("master_last_io_seconds_ago", String(lastIO)),
            DoctorEvidence("master_sync_in_progress", snapshot.info["master_sync_in_progress"] ?? "unknown"),
        ]
        if status != "up" {
            return [
                report(
                    .crit, "the link to the primary is \(status): this replica serves stale data and cannot take over", evidence,
                    advice: "Check the primary is reachable, masterauth is right, and the replica's log for sync errors."
                )
            ]
        }
        if snapshot.infoInt("master_sync_in_progress") == 1 {
            return [report(.warn, "a full resynchronisation is in progress", evidence, advice: "Wait for it; repeated full syncs point at a too-small repl-backlog-size.")]
        }
        // An idle primary only pings every repl-ping-replica-period (10 s by default): silence is
        // suspicious after two missed pings, not after one.
        let silenceLimit = max(policy.replicaLagWarningSeconds, 2 * (snapshot.configInt("repl-ping-replica-period") ?? 10))
        if lastIO >= silenceLimit {
            return [report(.warn, "nothing heard from the primary for \(lastIO) s", evidence, advice: "Check the network between replica and primary.")]
        }
        return [report(.ok, "the link to the primary is up", evidence)]
    }

    static let replicaLag = DoctorRule(id: "replication.lag", category: .replication) { snapshot, policy, report in
        guard snapshot.info["role"] == "master" else { return [] }
        let replicas = replicas(of: snapshot)
        guard !replicas.isEmpty else { return [] }
        let primaryOffset = snapshot.infoInt("master_repl_offset") ?? 0
        var evidence: [DoctorEvidence] = []
        var lagging: [String] = []
        for replica in replicas {
            let name = "\(replica["ip"] ?? "?"):\(replica["port"] ?? "?")"
            let state = replica["state"] ?? "unknown"
            let lag = replica["lag"].flatMap { Int($0) } ?? 0
            let behind = primaryOffset - (replica["offset"].flatMap { Int($0) } ?? primaryOffset)
            evidence.append(DoctorEvidence(name, "state=\(state) lag=\(lag)s behind=\(Format.bytes(max(behind, 0)))"))
            if state != "online" || lag >= policy.replicaLagWarningSeconds { lagging.append(name) }
        }
        guard lagging.isEmpty else {
            return [
                report(
                    .warn, "replica(s) offline or lagging: \(lagging.joined(separator: ", "))", evidence,
                    advice: "A lagging replica serves stale reads and loses writes on failover. Check its network, load and output buffer (client-output-buffer-limit replica)."
                )
            ]
        }
        return [report(.ok, "every replica is online and within \(policy.replicaLagWarningSeconds) s", evidence)]
    }

    static let clusterState = DoctorRule(id: "cluster.state", category: .topology) { snapshot, _, report in
        guard let cluster = snapshot.cluster else { return [] }
        let state = cluster.info["cluster_state"] ?? "unknown"
        let evidence = [
            DoctorEvidence("cluster_state", state), DoctorEvidence("cluster_known_nodes", cluster.info["cluster_known_nodes"] ?? "?"),
        ]
        guard state == "ok" else {
            return [
                report(
                    .crit, "cluster_state is \(state): the cluster refuses commands", evidence,
                    advice: "Some slots have no reachable primary. CLUSTER NODES shows failed nodes; redis-cli --cluster check explains coverage."
                )
            ]
        }
        return [report(.ok, "cluster_state is ok", evidence)]
    }

    static let clusterSlots = DoctorRule(id: "cluster.slots", category: .topology) { snapshot, _, report in
        guard let cluster = snapshot.cluster else { return [] }
        let assigned = cluster.info["cluster_slots_assigned"].flatMap { Int($0) } ?? 0
        let failed = cluster.info["cluster_slots_fail"].flatMap { Int($0) } ?? 0
        let possiblyFailed = cluster.info["cluster_slots_pfail"].flatMap { Int($0) } ?? 0
        let evidence = [
            DoctorEvidence("cluster_slots_assigned", String(assigned)), DoctorEvidence("cluster_slots_ok", cluster.info["cluster_slots_ok"] ?? "?"),
            DoctorEvidence("cluster_slots_pfail", String(possiblyFailed)), DoctorEvidence("cluster_slots_fail", String(failed)),
        ]
        if assigned < clusterSlotCount {
            return [
                report(
                    .crit, "\(clusterSlotCount - assigned) hash slots are not assigned to any node", evidence,
                    advice: "Keys in those slots cannot be served. Assign them (redis-cli --cluster fix) or rebalance."
                )
            ]
        }
        if failed > 0 {
            return [report(.crit, "\(failed) slots are served by failed nodes", evidence, advice: "Check the failed primaries and whether their replicas took over.")]
        }
        if possiblyFailed > 0 {
            return [report(.warn, "\(possiblyFailed) slots are served by nodes suspected down", evidence, advice: "Check those nodes; a failover may follow.")]
        }
        return [report(.ok, "all \(clusterSlotCount) slots are assigned and served", evidence)]
    }

    static let clusterReplicas = DoctorRule(id: "cluster.replicas", category: .topology) { snapshot, _, report in
        guard let topology = snapshot.cluster?.topology else { return [] }
        let lonely = topology.shards.filter { $0.primary != nil && $0.replicas.isEmpty }
        let evidence = [
            DoctorEvidence("shards", String(topology.shards.count)),
            DoctorEvidence("without replica", lonely.isEmpty ? "none" : lonely.compactMap { $0.primary.map { "\($0.endpoint)" } }.joined(separator: ", ")),
        ]
        guard lonely.isEmpty else {
            return [
                report(
                    .warn, "\(lonely.count) shard(s) have no replica: losing that primary takes its slots down", evidence,
                    advice: "Add a replica per primary (CLUSTER REPLICATE, or redis-cli --cluster add-node --cluster-slave)."
                )
            ]
        }
        return [report(.ok, "every shard has a replica", evidence)]
    }
}

/// What the sentinels said about a monitored service.
public struct DoctorSentinelFacts: Sendable, Hashable {
    /// The service (master) name.
    public var service: String
    /// The sentinel that answered.
    public var sentinel: String
    /// The primary's address, as the sentinels name it.
    public var primary: String
    /// How many replicas the sentinels know, and how many of them are flagged down or disconnected.
    public var replicas: Int
    /// Replicas flagged `s_down`, `o_down` or `disconnected`.
    public var unhealthyReplicas: Int
    /// Other sentinels known to the one that answered.
    public var otherSentinels: Int
    /// `SENTINEL CKQUORUM`: nil when it succeeded, else the code word of its error.
    public var quorumProblem: String?

    /// Creates the facts.
    public init(
        service: String, sentinel: String, primary: String, replicas: Int, unhealthyReplicas: Int, otherSentinels: Int,
        quorumProblem: String?
    ) {
        self.service = service
        self.sentinel = sentinel
        self.primary = primary
        self.replicas = replicas
        self.unhealthyReplicas = unhealthyReplicas
        self.otherSentinels = otherSentinels
        self.quorumProblem = quorumProblem
    }

    /// Findings about the Sentinel setup itself: quorum and replicas.
    public var findings: [DoctorFinding] {
        let evidence = [
            DoctorEvidence("service", service), DoctorEvidence("asked sentinel", sentinel), DoctorEvidence("primary", primary),
            DoctorEvidence("sentinels", String(otherSentinels + 1)), DoctorEvidence("replicas", "\(replicas) (\(unhealthyReplicas) unhealthy)"),
        ]
        let quorum = DoctorRule.Reporter(id: "sentinel.quorum", category: .topology)
        let replicaHealth = DoctorRule.Reporter(id: "sentinel.replicas", category: .topology)
        let quorumFinding =
            if let quorumProblem {
                quorum(
                    .crit, "SENTINEL CKQUORUM fails (\(quorumProblem)): no failover can be authorised", evidence,
                    advice: "Run at least three sentinels on separate hosts, reachable from each other, with a quorum they can reach."
                )
            } else {
                quorum(.ok, "the sentinels can reach quorum and authorise a failover", evidence)
            }
        let replicaFinding =
            if replicas == 0 || unhealthyReplicas == replicas {
                replicaHealth(.crit, "no healthy replica: a failover has nothing to promote", evidence, advice: "Add replicas (replicaof) and check their links.")
            } else if unhealthyReplicas > 0 {
                replicaHealth(.warn, "\(unhealthyReplicas) of \(replicas) replicas are down or disconnected", evidence, advice: "Check those replicas.")
            } else {
                replicaHealth(.ok, "every replica is healthy", evidence)
            }
        return [quorumFinding, replicaFinding]
    }
}
