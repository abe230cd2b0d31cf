import Foundation
import NIOCore
import Redis
import RedisServerHarness

extension FailoverBenchmark {
    /// 3 primaries + 3 replicas (`cluster-node-timeout 2000`, `cluster-require-full-coverage no`);
    /// half the writers on keys of one primary, half on the others'; SIGKILL that primary.
    ///
    /// Full coverage is off because with Redis's default every node refuses every slot
    /// (`CLUSTERDOWN`) while a failed primary awaits replacement, which no client can mask.
    func clusterRun() async throws -> RunResult {
        var options = RedisCluster.Options()
        options.node.arguments = ["--cluster-require-full-coverage", "no"]
        return try await RedisCluster.withCluster(options) { cluster in
            let client = try RedisClusterClient(
                seeds: cluster.nodes.map { RedisEndpoint(host: $0.host, port: $0.port) },
                configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1"), commandTimeout: .seconds(2)),
                pool: RedisPoolConfiguration(
                    initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250), breakerFailureThreshold: 1_000,
                    maintenanceInterval: .milliseconds(20)
                )
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                defer { client.shutdown() }
                let result = try await clusterLoad(cluster: cluster, client: client)
                client.shutdown()
                try await group.waitForAll()
                return result
            }
        }
    }

    private func clusterLoad(cluster: RedisCluster, client: RedisClusterClient) async throws -> RunResult {
        _ = try await client.ping()
        guard let topology = client.topology, let victimEndpoint = topology.shards.first?.primary?.endpoint,
            let victim = cluster.nodes.first(where: { $0.port == victimEndpoint.port })
        else { throw BenchmarkError(message: "the cluster client has no slot map") }
        let keys = (0..<1_000).map { "failover:\($0)" }
        let victimKeys = keys.filter { topology.primary(forKey: $0)?.endpoint == victimEndpoint }
        let otherKeys = keys.filter { topology.primary(forKey: $0)?.endpoint != victimEndpoint }
        let victimProbe = LoadProbe(), otherProbe = LoadProbe()
        let writers = max(2, tasks)
        return try await withThrowingTaskGroup(of: Void.self) { load -> RunResult in
            for task in 0..<writers {
                let (probe, pool) = task.isMultiple(of: 2) ? (victimProbe, victimKeys) : (otherProbe, otherKeys)
                let mine = pool.enumerated().filter { $0.offset % ((writers + 1) / 2) == task / 2 }.map(\.element)
                load.addTask { try await probe.write(client, keys: mine.isEmpty ? pool : mine) }
            }
            try await Task.sleep(for: .milliseconds(500))
            let killedAt = ContinuousClock.now
            victimProbe.markKill(at: killedAt)
            otherProbe.markKill(at: killedAt)
            await victim.kill()
            try await cluster.waitUntilReady(
                timeout: .seconds(20), expectedPrimaries: cluster.options.primaries,
                expectedReplicas: cluster.options.primaries * cluster.options.replicasPerPrimary - 1)
            let failoverDone = ContinuousClock.now
            let deadline = ContinuousClock.now + .seconds(15)
            while victimProbe.recoveredAt == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            victimProbe.stop()
            otherProbe.stop()
            try await load.waitForAll()
            guard let recovered = victimProbe.recoveredAt else {
                throw BenchmarkError(message: "writes to the killed primary's slots did not resume within 15 s of the failover")
            }
            return RunResult(
                writesResumedMilliseconds: (recovered - killedAt).milliseconds,
                topologyFailoverMilliseconds: (failoverDone - killedAt).milliseconds,
                otherSlots: (otherProbe.failures, otherProbe.slowestWrite.milliseconds)
            )
        }
    }
}
