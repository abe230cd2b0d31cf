import Redis
import RedisServerHarness
import StrataOperations
import Testing

/// `RedisDoctor` against real servers started with settings that trip the rules, and one
/// configured as the checklist wants.
@Suite("Doctor against live servers")
struct DoctorLiveTests {
    func audit(_ configuration: RedisConnectionConfiguration, sample: Int = 1000) async throws -> DoctorReport {
        try await RedisDoctor(
            target: .node(configuration), collector: DoctorCollector(options: .init(sampleSize: sample, sampleRate: nil))
        ).run()
    }

    @Test func misconfiguredCacheTripsItsRules() async throws {
        let arguments = [
            "--maxmemory", "0", "--maxmemory-policy", "noeviction", "--protected-mode", "no",
            "--slowlog-log-slower-than", "0", "--slowlog-max-len", "4", "--client-output-buffer-limit", "pubsub 0 0 0",
        ]
        try await withPrivateServer(arguments) { server in
            try await withConnection(server.configuration()) { connection in
                try await connection.load((0..<200).map { ["SET", "plain:\($0)", "value"] })
                try await connection.load([["SET", "big:blob", String(repeating: "x", count: 1_500_000)]])
            }
            let report = try await audit(server.configuration())
            let findings = Dictionary(report.allFindings.map { ($0.id, $0) }) { first, _ in first }
            #expect(findings["memory.maxmemory"]?.severity == .crit)
            #expect(findings["eviction.policy"]?.severity == .crit)
            #expect(findings["eviction.keys-without-ttl"]?.severity == .warn)
            #expect(findings["security.protected-mode"]?.severity == .warn)
            #expect(findings["security.dangerous-commands"]?.severity == .warn)
            #expect(findings["performance.big-keys"]?.severity == .warn)
            #expect(findings["performance.big-keys"]?.evidence.contains { $0.name == "big:blob" } == true)
            #expect(findings["performance.slowlog"]?.severity == .warn)
            #expect(findings["performance.latency-monitor"]?.severity == .info)
            #expect(findings["clients.pubsub-buffer"]?.severity == .warn)
            #expect(findings["doctor.unreadable"] == nil)
            #expect(report.exitCode == 2)

            // Bounded: a sample of 50 keys reads 50 keys, not the whole keyspace.
            let bounded = try await audit(server.configuration(), sample: 50)
            let sampled = bounded.allFindings.first { $0.id == "eviction.keys-without-ttl" }?.evidence.first?.value
            #expect(sampled == "50")

            // volatile-lru with no key carrying a TTL has nothing to evict.
            try await withConnection(server.configuration()) { connection in
                _ = try await connection.send(RawCommand(["CONFIG", "SET", "maxmemory-policy", "volatile-lru", "maxmemory", "64mb"]))
            }
            let volatile = try await audit(server.configuration())
            #expect(volatile.allFindings.first { $0.id == "eviction.volatile-without-ttl" }?.severity == .crit)
            #expect(volatile.allFindings.first { $0.id == "memory.maxmemory" }?.severity == .ok)
        }
    }

    @Test func wellConfiguredCacheHasNoCriticalFinding() async throws {
        let app = RedisServer.ACLUser(
            "app", password: "app-secret",
            rules: [
                "~*", "&*", "+@all", "-@dangerous", "+info", "+config|get", "+memory", "+slowlog|len", "+latency|latest",
                "+client|list", "+acl|whoami", "+acl|dryrun", "+acl|getuser",
            ]
        )
        let limited = RedisServer.ACLUser("limited", password: "limited-secret", rules: ["~*", "&*", "+@all", "-config", "-memory"])
        let arguments = ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru", "--latency-monitor-threshold", "100"]
        try await withPrivateServer(arguments, password: "secret", users: [app, limited]) { server in
            try await withConnection(server.configuration(password: "secret")) { connection in
                try await connection.load((0..<300).map { ["SET", "cache:\($0)", "value", "EX", "3600"] })
            }
            let report = try await audit(server.configuration(username: "app", password: "app-secret"))
            #expect(report.allFindings.filter { $0.severity == .crit }.map(\.id) == [])
            #expect(report.exitCode == 0)
            let findings = Dictionary(report.allFindings.map { ($0.id, $0.severity) }) { first, _ in first }
            #expect(findings["security.dangerous-commands"] == .ok)
            #expect(findings["security.protected-mode"] == .ok)
            #expect(findings["eviction.policy"] == .ok)
            #expect(findings["memory.maxmemory"] == .ok)
            // On, at 100 ms; a spike recorded on a loaded machine would make it INFO, not OFF.
            let latency = report.allFindings.first { $0.id == "performance.latency-monitor" }
            #expect(latency?.evidence.first == DoctorEvidence("latency-monitor-threshold", "100 ms"))
            #expect(findings["replication.role"] == .info)

            // A user that may not read CONFIG or MEMORY gets a report that names the gaps.
            let partial = try await audit(server.configuration(username: "limited", password: "limited-secret"))
            let gaps = partial.allFindings.first { $0.id == "doctor.unreadable" }
            #expect(gaps?.evidence.map(\.name).contains("CONFIG GET") == true)
            #expect(gaps?.evidence.map(\.name).contains("MEMORY STATS") == true)
            #expect(gaps?.evidence.first { $0.name == "CONFIG GET" }?.value == "NOPERM")
        }
    }

    @Test func clusterAuditCoversEveryNode() async throws {
        try await RedisCluster.withCluster { cluster in
            let seed = cluster.nodes[0]
            let report = try await audit(seed.configuration(), sample: 100)
            #expect(report.kind == .cluster)
            #expect(Set(report.nodes.map(\.node)) == Set(cluster.nodes.map { "\($0.endpoint)" }))
            #expect(report.nodes.filter { $0.role == "master" }.count == 3)
            for node in report.nodes {
                let findings = Dictionary(node.findings.map { ($0.id, $0.severity) }) { first, _ in first }
                #expect(findings["cluster.state"] == .ok, "\(node.node)")
                #expect(findings["cluster.slots"] == .ok, "\(node.node)")
                #expect(findings["doctor.unreachable"] == nil)
                if node.role == "slave" { #expect(findings["replication.link"] == .ok, "\(node.node)") }
            }
            #expect(report.nodes[0].findings.first { $0.id == "cluster.replicas" }?.severity == .ok)
        }
    }

    @Test func sentinelAuditCoversPrimaryAndReplicas() async throws {
        try await RedisSentinelTopology.withTopology { topology in
            let sentinels = topology.sentinelEndpoints.map { "\($0.host):\($0.port)" }.joined(separator: ",")
            let target = try #require(DoctorTarget(url: "redis+sentinel://\(sentinels)/\(topology.serviceName)"))
            let report = try await RedisDoctor(target: target, collector: DoctorCollector(options: .init(sampleSize: 10))).run()
            #expect(report.kind == .sentinel)
            #expect(report.nodes.count == 3)
            #expect(report.nodes.first?.node == "\(topology.primary.endpoint)")
            #expect(report.nodes.first?.role == "master")
            #expect(report.topologyFindings.map(\.severity) == [.ok, .ok])
            for replica in report.nodes.dropFirst() {
                #expect(replica.findings.first { $0.id == "replication.link" }?.severity == .ok)
            }
        }
    }
}
