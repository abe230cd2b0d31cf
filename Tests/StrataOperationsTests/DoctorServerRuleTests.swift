import Redis
import StrataOperations
import Testing

/// Persistence, client, performance, security and topology rules on the recorded payloads,
/// probed just below and at each threshold.
@Suite("Doctor persistence, client, performance, security and topology rules")
struct DoctorServerRuleTests {
    let healthy = DoctorFixture.healthy.snapshot

    @Test func failedSaveIsCriticalWhenRedisRefusesWritesBecauseOfIt() {
        let failed = healthy.with { $0.info["rdb_last_bgsave_status"] = "err" }
        #expect(failed.with { $0.config?["save"] = "3600 1" }.severity(of: "persistence.rdb-status") == .crit)
        #expect(failed.severity(of: "persistence.rdb-status") == .warn)
        #expect(healthy.severity(of: "persistence.rdb-status") == .ok)
    }

    @Test func failedAOFWriteIsCritical() {
        let aof = healthy.with {
            $0.info["aof_enabled"] = "1"
            $0.info["aof_last_write_status"] = "err"
        }
        #expect(aof.severity(of: "persistence.aof-status") == .crit)
        #expect(aof.with { $0.info["aof_last_write_status"] = "ok" }.severity(of: "persistence.aof-status") == .ok)
    }

    @Test func persistenceIsInformationForACacheAndRequiredForAStore() {
        #expect(healthy.severity(of: "persistence.mode") == .info)
        #expect(healthy.severity(of: "persistence.mode", policy: DoctorPolicy(use: .store)) == .crit)
        #expect(healthy.with { $0.config?["save"] = "3600 1" }.severity(of: "persistence.mode", policy: DoctorPolicy(use: .store)) == .warn)
        #expect(healthy.with { $0.config?["appendonly"] = "yes" }.severity(of: "persistence.mode", policy: DoctorPolicy(use: .store)) == .ok)
    }

    @Test func clientCountWarnsFromEightyPercentOfMaxclients() {
        #expect(healthy.with { $0.info["connected_clients"] = "7999" }.severity(of: "clients.capacity") == .ok)
        #expect(healthy.with { $0.info["connected_clients"] = "8000" }.severity(of: "clients.capacity") == .warn)
    }

    @Test func anyRejectedConnectionWarns() {
        #expect(healthy.severity(of: "clients.rejected") == .ok)
        #expect(healthy.with { $0.info["rejected_connections"] = "1" }.severity(of: "clients.rejected") == .warn)
    }

    @Test func unboundedPubSubBuffersWarn() {
        #expect(healthy.severity(of: "clients.pubsub-buffer") == .ok)
        let unbounded = healthy.with {
            $0.config?["client-output-buffer-limit"] = "normal 0 0 0 slave 268435456 67108864 60 pubsub 0 0 0"
        }
        #expect(unbounded.severity(of: "clients.pubsub-buffer") == .warn)
    }

    @Test func idleClientsWarnFromFiftyAndIgnoreSubscribers() {
        func client(idle: Int, flags: String = "N", subscriptions: Int = 0) -> DoctorClient {
            DoctorClient(address: "10.0.0.1:5000", name: "", idleSeconds: idle, flags: flags, totalMemory: 20_000, subscriptions: subscriptions)
        }
        func snapshot(_ clients: [DoctorClient]) -> DoctorSnapshot { healthy.with { $0.clients = clients } }
        #expect(snapshot([client(idle: 3599)]).severity(of: "clients.idle") == .ok)
        #expect(snapshot([client(idle: 3600)]).severity(of: "clients.idle") == .info)
        #expect(snapshot(Array(repeating: client(idle: 3600), count: 49)).severity(of: "clients.idle") == .info)
        #expect(snapshot(Array(repeating: client(idle: 3600), count: 50)).severity(of: "clients.idle") == .warn)
        #expect(snapshot([client(idle: 9999, flags: "P", subscriptions: 1), client(idle: 9999, flags: "S")]).severity(of: "clients.idle") == .ok)
    }

    @Test func clientMemoryWarnsForOneHeavyClientOrAHighAverage() {
        func snapshot(largest: Int) -> DoctorSnapshot {
            healthy.with {
                $0.clients = [DoctorClient(address: "10.0.0.1:5000", name: "app", idleSeconds: 0, flags: "N", totalMemory: largest, subscriptions: 0)]
            }
        }
        #expect(snapshot(largest: (32 << 20) - 1).severity(of: "clients.memory.largest") == .ok)
        #expect(snapshot(largest: 32 << 20).severity(of: "clients.memory.largest") == .warn)
        // One recorded client: the average is clients.normal itself (MEMORY DOCTOR: over 200 KB).
        #expect(healthy.with { $0.memoryStats?["clients.normal"] = 204_800 }.severity(of: "clients.memory.average") == .ok)
        #expect(healthy.with { $0.memoryStats?["clients.normal"] = 204_801 }.severity(of: "clients.memory.average") == .warn)
    }

    @Test func hitRatioIsJudgedFromAThousandLookupsAndWarnsBelowHalf() {
        func snapshot(hits: Int, misses: Int) -> DoctorSnapshot {
            healthy.with {
                $0.info["keyspace_hits"] = String(hits)
                $0.info["keyspace_misses"] = String(misses)
            }
        }
        #expect(snapshot(hits: 0, misses: 999).severity(of: "performance.hit-ratio") == .info)
        #expect(snapshot(hits: 500, misses: 500).severity(of: "performance.hit-ratio") == .ok)
        #expect(snapshot(hits: 499, misses: 501).severity(of: "performance.hit-ratio") == .warn)
    }

    @Test func latencyMonitorOffIsInformation() {
        #expect(healthy.with { $0.config?["latency-monitor-threshold"] = "0" }.severity(of: "performance.latency-monitor") == .info)
        #expect(healthy.severity(of: "performance.latency-monitor") == .ok)
        #expect(healthy.with { $0.latencyEvents = ["command"] }.severity(of: "performance.latency-monitor") == .info)
    }

    @Test func aFullSlowlogWarns() {
        #expect(healthy.severity(of: "performance.slowlog") == .ok)
        #expect(healthy.with { $0.slowlogLength = 127 }.severity(of: "performance.slowlog") == .info)
        #expect(healthy.with { $0.slowlogLength = 128 }.severity(of: "performance.slowlog") == .warn)
    }

    @Test func keysFromOneMegabyteAreBig() {
        func snapshot(size: Int) -> DoctorSnapshot {
            healthy.with {
                $0.keySample = DoctorKeySample(
                    sampled: 2, withoutTTL: 0, sizes: [100, size], largest: [.init(name: "user:42:feed", bytes: size)], complete: true
                )
            }
        }
        #expect(snapshot(size: (1 << 20) - 1).severity(of: "performance.big-keys") == .ok)
        let big = snapshot(size: 1 << 20).finding("performance.big-keys")
        #expect(big?.severity == .warn)
        #expect(big?.evidence.contains { $0.name == "user:42:feed" } == true)
    }

    @Test func trackingTableWarnsFromNinetyPercentFull() {
        #expect(healthy.with { $0.info["tracking_total_keys"] = "899999" }.severity(of: "performance.tracking-table") == .ok)
        #expect(healthy.with { $0.info["tracking_total_keys"] = "900000" }.severity(of: "performance.tracking-table") == .warn)
    }

    @Test func openDefaultUserWithoutProtectedModeIsCriticalOnANetworkAddress() {
        let open = healthy.with {
            $0.config?["protected-mode"] = "no"
            $0.access?.defaultUserFlags = ["on", "nopass"]
        }
        #expect(open.severity(of: "security.protected-mode") == .warn)
        #expect(open.with { $0.config?["bind"] = "0.0.0.0" }.severity(of: "security.protected-mode") == .crit)
        #expect(open.with { $0.config?["bind"] = "* -::*" }.severity(of: "security.protected-mode") == .crit)
        #expect(open.with { $0.config?["protected-mode"] = "yes" }.severity(of: "security.protected-mode") == .ok)
        #expect(healthy.with { $0.config?["protected-mode"] = "no" }.severity(of: "security.protected-mode") == .ok)
    }

    @Test func dangerousCommandsAllowedToTheUserWarn() {
        #expect(healthy.severity(of: "security.dangerous-commands") == .ok)
        let allowed = healthy.with { $0.access?.dangerousCommands = ["FLUSHALL": true, "KEYS": false] }
        let finding = allowed.finding("security.dangerous-commands")
        #expect(finding?.severity == .warn)
        #expect(finding?.title.contains("FLUSHALL") == true)
    }

    @Test func plaintextOnANetworkAddressWarns() {
        #expect(healthy.severity(of: "security.tls") == .ok)
        let exposed = healthy.with { $0.config?["bind"] = "10.0.0.5" }
        #expect(exposed.severity(of: "security.tls") == .warn)
        #expect(exposed.with { $0.config?["port"] = "0"; $0.config?["tls-port"] = "6380" }.severity(of: "security.tls") == .ok)
    }

    @Test func aReplicaWithItsLinkDownIsCritical() {
        let replica = healthy.with {
            $0.info["role"] = "slave"
            $0.info["master_host"] = "10.0.0.1"
            $0.info["master_port"] = "6379"
            $0.info["master_link_status"] = "down"
            $0.info["master_last_io_seconds_ago"] = "-1"
        }
        #expect(replica.severity(of: "replication.link") == .crit)
        let up = replica.with { $0.info["master_link_status"] = "up" }
        // Silence is judged against two ping periods (repl-ping-replica-period 10 in the recording).
        #expect(up.with { $0.info["master_last_io_seconds_ago"] = "19" }.severity(of: "replication.link") == .ok)
        #expect(up.with { $0.info["master_last_io_seconds_ago"] = "20" }.severity(of: "replication.link") == .warn)
        #expect(healthy.severity(of: "replication.link") == nil)
    }

    @Test func replicaLagWarnsFromTenSeconds() {
        func snapshot(lag: Int) -> DoctorSnapshot {
            healthy.with {
                $0.info["connected_slaves"] = "1"
                $0.info["slave0"] = "ip=10.0.0.2,port=6379,state=online,offset=100,lag=\(lag)"
            }
        }
        #expect(snapshot(lag: 9).severity(of: "replication.lag") == .ok)
        #expect(snapshot(lag: 10).severity(of: "replication.lag") == .warn)
    }

    @Test func clusterStateAndSlotCoverage() {
        func snapshot(_ fields: [String: String]) -> DoctorSnapshot {
            var info = ["cluster_state": "ok", "cluster_slots_assigned": "16384", "cluster_slots_ok": "16384", "cluster_slots_pfail": "0", "cluster_slots_fail": "0"]
            info.merge(fields) { $1 }
            return healthy.with { $0.cluster = DoctorClusterFacts(info: info) }
        }
        #expect(snapshot([:]).severity(of: "cluster.state") == .ok)
        #expect(snapshot([:]).severity(of: "cluster.slots") == .ok)
        #expect(snapshot(["cluster_state": "fail"]).severity(of: "cluster.state") == .crit)
        #expect(snapshot(["cluster_slots_assigned": "16383"]).severity(of: "cluster.slots") == .crit)
        #expect(snapshot(["cluster_slots_fail": "1"]).severity(of: "cluster.slots") == .crit)
        #expect(snapshot(["cluster_slots_pfail": "1"]).severity(of: "cluster.slots") == .warn)
        #expect(healthy.severity(of: "cluster.state") == nil)
    }

    @Test func sentinelWithoutQuorumOrHealthyReplicasIsCritical() {
        let facts = DoctorSentinelFacts(
            service: "mymaster", sentinel: "127.0.0.1:26379", primary: "127.0.0.1:6379", replicas: 2, unhealthyReplicas: 0,
            otherSentinels: 2, quorumProblem: nil
        )
        #expect(facts.findings.map(\.severity) == [.ok, .ok])
        var broken = facts
        broken.quorumProblem = "NOQUORUM"
        broken.unhealthyReplicas = 1
        #expect(broken.findings.map(\.severity) == [.crit, .warn])
        broken.unhealthyReplicas = 2
        #expect(broken.findings.map(\.severity) == [.crit, .crit])
    }

    @Test func unreadableSourcesAreNamed() {
        let partial = healthy.with { $0.unreadable = ["CONFIG GET": "NOPERM"] }
        let finding = partial.finding("doctor.unreadable")
        #expect(finding?.severity == .info)
        #expect(finding?.evidence == [DoctorEvidence("CONFIG GET", "NOPERM")])
        #expect(healthy.finding("doctor.unreadable") == nil)
    }
}
