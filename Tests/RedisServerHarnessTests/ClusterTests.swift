@testable import RedisServerHarness
import Testing

@Suite("Redis Cluster")
struct ClusterTests {
    @Test("3 primaries + 3 replicas: complete topology, MOVED redirects, failover after a kill, clean stop")
    func clusterStartsComplete() async throws {
        let pids = try await RedisCluster.withCluster { cluster in
            #expect(cluster.nodes.count == 6)
            #expect(Set(cluster.nodes.map(\.port)).count == 6)
            for node in cluster.nodes {
                guard case .bulk(let info?) = try node.command("CLUSTER", "INFO") else {
                    Issue.record("CLUSTER INFO")
                    continue
                }
                #expect(info.contains("cluster_state:ok"))
                #expect(info.contains("cluster_known_nodes:6"))
            }
            var roles: [String: Int] = [:]
            for node in cluster.nodes {
                guard case .array(let role?) = try node.command("ROLE"), let name = role.first?.string else { continue }
                roles[name, default: 0] += 1
            }
            #expect(roles == ["master": 3, "slave": 3])

            // A key answers on exactly one primary; the other primaries redirect with MOVED.
            var owners = 0
            var moved = 0
            for node in cluster.nodes {
                switch try node.command("SET", "harness:cluster", "1") {
                case .status("OK"): owners += 1
                case .error(let message) where message.hasPrefix("MOVED"): moved += 1
                default: break
                }
            }
            #expect(owners == 1)
            #expect(moved == 5)

            // Fault injection: kill a primary; its replica takes over (about 3.5-5 s).
            let primary = try #require(cluster.nodes.first { (try? $0.command("ROLE"))?.firstString == "master" })
            let pids = cluster.nodes.map(\.pid)
            await primary.kill()
            try await cluster.waitUntilReady(timeout: .seconds(20), expectedPrimaries: 3, expectedReplicas: 2)
            let survivors = cluster.nodes.filter(\.isRunning)
            #expect(survivors.count == 5)
            let primaries = survivors.filter { (try? $0.command("ROLE"))?.firstString == "master" }
            #expect(primaries.count == 3)
            return pids
        }
        for pid in pids { #expect(isGone(pid)) }
    }
}

extension RedisReply {
    /// The first element of an array reply, as text (e.g. the role name in `ROLE`).
    fileprivate var firstString: String? {
        guard case .array(let elements?) = self else { return nil }
        return elements.first?.string
    }
}
