import NIOCore
import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Testing

@Suite struct RedisCacheTierClusterTests {
    /// Batch reads and removals span several hash slots (and so several nodes): the tier splits
    /// them by slot and puts the answers back in key order.
    @Test(.timeLimit(.minutes(1))) func batchCallsSpanSlotsAndNodes() async throws {
        try await RedisCluster.withCluster(.init(primaries: 3, replicasPerPrimary: 0)) { cluster in
            let client = try RedisClusterClient(
                seeds: cluster.endpoints.map { RedisEndpoint(host: $0.host, port: $0.port) },
                configuration: RedisConnectionConfiguration(
                    endpoint: RedisEndpoint(host: "127.0.0.1", port: 0), commandTimeout: .seconds(10)))
            let tier = try RedisCacheTier(cluster: client, configuration: .init(operationTimeout: .seconds(5)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                var failure: (any Error)?
                do {
                    try await Self.exerciseBatches(tier)
                } catch {
                    failure = error
                }
                client.shutdown()
                try await group.waitForAll()
                if let failure { throw failure }
            }
        }
    }

    /// Fill notices are plain PUBLISHes from the fill script, which the cluster broadcasts: a
    /// lease waiter subscribed through another client (and node) is woken by the fill.
    @Test(.timeLimit(.minutes(1))) func aLeaseWaiterOnAClusterIsWokenByTheFill() async throws {
        try await RedisCluster.withCluster(.init(primaries: 3, replicasPerPrimary: 0)) { cluster in
            let clients = try (0..<2).map { _ in
                try RedisClusterClient(
                    seeds: cluster.endpoints.map { RedisEndpoint(host: $0.host, port: $0.port) },
                    configuration: RedisConnectionConfiguration(
                        endpoint: RedisEndpoint(host: "127.0.0.1", port: 0), commandTimeout: .seconds(10)))
            }
            let tiers = try clients.map { try RedisCacheTier(cluster: $0, configuration: .init(operationTimeout: .seconds(5))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients { group.addTask { try await client.run() } }
                for tier in tiers { group.addTask { try? await tier.runFillNotifications() } }
                var failure: (any Error)?
                do {
                    try await Self.fillWakesTheWaiter(holder: tiers[0], waiter: tiers[1])
                } catch {
                    failure = error
                }
                for client in clients { client.shutdown() }
                group.cancelAll()
                try await group.waitForAll()
                if let failure { throw failure }
            }
        }
    }

    private static func fillWakesTheWaiter(holder: RedisCacheTier, waiter: RedisCacheTier) async throws {
        let key = "{cluster-lease}"
        // Let the subscriptions establish.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await holder.acquireLease(key, token: "a", leaseTime: .seconds(60), forRefresh: false) == .granted)
        let started = ContinuousClock.now
        async let waited: Void = waiter.waitForFill(key, timeout: .seconds(40))
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await holder.fill(key, value: [1], timeToLive: .seconds(60), version: nil, leaseToken: "a") == .stored)
        await waited
        // Far below the 40 s the wait would otherwise last.
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(try await waiter.get(key) == [1])
    }

    private static func exerciseBatches(_ tier: RedisCacheTier) async throws {
        let keys = (0..<12).map { "tier:\($0)" }
        #expect(Set(keys.map { HashSlot(key: $0) }).count > 3)
        for (index, key) in keys.enumerated() where index % 3 != 0 {
            try await tier.set(key, value: [UInt8(index)], timeToLive: .seconds(30))
        }
        let values = try await tier.get(keys)
        #expect(values == keys.indices.map { $0 % 3 == 0 ? nil : [UInt8($0)] })
        #expect(try await tier.get("tier:1") == [1])
        try await tier.remove(keys)
        #expect(try await tier.get(keys).allSatisfy { $0 == nil })
        try await exerciseTagEpochs(tier)
    }

    /// Each tag's epoch key is its own hash tag, so epochs spread over slots and nodes; reads are
    /// split by slot and advances are one-key scripts.
    private static func exerciseTagEpochs(_ tier: RedisCacheTier) async throws {
        let tags = (0..<8).map { "tag:\($0)" }
        #expect(Set(tags.map { HashSlot(key: "{strata:tag:\($0)}") }).count > 3)
        for tag in tags.prefix(4) { #expect(try await tier.advanceEpoch(of: tag, above: 0) == 1) }
        // A counter below what an instance knows (lost, then restarted) is lifted above it.
        #expect(try await tier.advanceEpoch(of: "tag:0", above: 5) == 6)
        #expect(try await tier.epochs(of: tags) == [6, 1, 1, 1, 0, 0, 0, 0])
    }
}
