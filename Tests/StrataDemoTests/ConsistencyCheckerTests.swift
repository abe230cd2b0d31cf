import Foundation
import RedisServerHarness
import Testing

@testable import StrataDemo

@Suite(.serialized) struct ConsistencyCheckerTests {
    /// The history check itself, on a hand-made history: a read that starts after a write's
    /// acknowledgement and returns an older version is stale, measured from that acknowledgement.
    @Test func theHistoryCheckFlagsExactlyTheReadsThatMissedAnAcknowledgedWrite() {
        let history = History()
        let t0 = ContinuousClock.now
        history.recordWrite(key: 1, version: 2, invalidationStarted: t0, acknowledged: t0.advanced(by: .milliseconds(10)))
        // Started before the acknowledgement: old data is allowed.
        history.recordRead(key: 1, version: 1, start: t0.advanced(by: .milliseconds(5)))
        // Started after it with the new version: fine.
        history.recordRead(key: 1, version: 2, start: t0.advanced(by: .milliseconds(11)))
        // Started after it with the old version: stale by 15 ms.
        history.recordRead(key: 1, version: 1, start: t0.advanced(by: .milliseconds(25)))
        // Another key is unaffected.
        history.recordRead(key: 2, version: 1, start: t0.advanced(by: .milliseconds(25)))
        let verdict = history.check()
        #expect(verdict.staleReads == 1)
        #expect(verdict.maxStaleness == .milliseconds(15))
        #expect(verdict.reads == 4 && verdict.writes == 1)
    }

    /// With in-process tiers, a read may lag a write until its instance received the invalidation
    /// (the writer's own instance knows at the acknowledgement); after that, or with no receipt at
    /// all, it is a violation.
    @Test func inProcessReadsMayLagOnlyUntilTheirInstanceReceivedTheInvalidation() {
        let history = History()
        let t0 = ContinuousClock.now
        func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(milliseconds)) }
        history.recordWrite(instance: 0, key: 1, version: 2, invalidationStarted: at(0), acknowledged: at(10))
        history.recordReceipt(instance: 1, key: 1, at: at(14))
        // Instance 1 before its receipt: allowed, 2 ms behind.
        history.recordRead(instance: 1, key: 1, version: 1, start: at(12))
        // Instance 1 after its receipt: a violation.
        history.recordRead(instance: 1, key: 1, version: 1, start: at(15))
        // The writer's own instance after the acknowledgement: a violation.
        history.recordRead(instance: 0, key: 1, version: 1, start: at(11))
        // Instance 3 never received it: a violation.
        history.recordRead(instance: 3, key: 1, version: 1, start: at(20))
        // A flush counts as receipt of everything.
        history.recordWrite(instance: 0, key: 2, version: 5, invalidationStarted: at(0), acknowledged: at(10))
        history.recordReceipt(instance: 2, key: nil, at: at(30))
        history.recordRead(instance: 2, key: 2, version: 4, start: at(25))
        let verdict = history.check()
        #expect(verdict.staleReads == 3)
        #expect(verdict.staleWithinPropagation == 2)
        #expect(verdict.maxStalenessWithinPropagation == .milliseconds(15))
        // Acknowledgement to receipt, per write and instance that received it.
        #expect(verdict.propagation.sorted() == [.milliseconds(4), .milliseconds(20), .milliseconds(20)])
    }

    /// Two writes from other instances overlap: their messages may arrive in either order, so an
    /// instance is known to have heard of the later one only once both messages arrived.
    @Test func overlappingWritesNeedAsManyReceiptsAsThereWereWrites() {
        let history = History()
        let t0 = ContinuousClock.now
        func at(_ milliseconds: Int) -> ContinuousClock.Instant { t0.advanced(by: .milliseconds(milliseconds)) }
        history.recordWrite(instance: 0, key: 1, version: 5, invalidationStarted: at(0), acknowledged: at(4))
        history.recordWrite(instance: 1, key: 1, version: 6, invalidationStarted: at(2), acknowledged: at(6))
        history.recordReceipt(instance: 2, key: 1, at: at(5))  // the first write's message
        history.recordReceipt(instance: 2, key: 1, at: at(9))  // the second's
        history.recordRead(instance: 2, key: 1, version: 5, start: at(7))  // lags the second: allowed
        history.recordRead(instance: 2, key: 1, version: 5, start: at(10))  // after both: stale
        let verdict = history.check()
        #expect(verdict.staleReads == 1)
        #expect(verdict.staleWithinPropagation == 1)
    }

    /// Against a real Redis with adversarial delays: naive cache-aside serves stale reads; leases
    /// and versioned write-through serve none.
    @Test(.timeLimit(.minutes(3))) func leasesAndVersionedWriteThroughServeNoStaleReadsWhereNaiveDoes() async throws {
        let checker = ConsistencyChecker(configuration: .init(operations: 6_000))
        let report = try await checker.run(redisURL: nil, progress: DemoProgress { _ in })
        let byName = Dictionary(uniqueKeysWithValues: report.strategies.map { ($0.name, $0) })
        let naive = try #require(byName[ConsistencyChecker.Strategy.naive.rawValue])
        let leases = try #require(byName[ConsistencyChecker.Strategy.leases.rawValue])
        let writeThrough = try #require(byName[ConsistencyChecker.Strategy.versionedWriteThrough.rawValue])
        #expect(naive.staleReads > 0)
        #expect(leases.staleReads == 0)
        #expect(writeThrough.staleReads == 0)
        let inProcess = try #require(byName[ConsistencyChecker.Strategy.leasesWithInProcessTier.rawValue])
        #expect(inProcess.staleReads == 0)
        for result in report.strategies { #expect(result.operations >= 5_900) }
        let json = try JSONSerialization.jsonObject(with: Data(try report.renderJSON().utf8)) as? [String: Any]
        let strategies = json?["strategies"] as? [[String: Any]]
        #expect(strategies?.count == ConsistencyChecker.Strategy.allCases.count)
        for key in ["name", "stale_reads", "max_staleness_ms", "loader_calls", "hit_ratio", "operations"] {
            #expect(strategies?.first?[key] != nil, "\(key)")
        }
    }
}

/// The checker under a nemesis, and over Sentinel and Cluster topologies given by URL.
@Suite(.serialized) struct ConsistencyCheckerFaultAndTopologyTests {
    /// Connections killed and Redis paused mid-run: leases and versioned write-through still serve
    /// no stale read (writers retry an invalidation Redis did not acknowledge).
    @Test(.timeLimit(.minutes(3))) func connectionKillsAndPausesCauseNoStaleReadsWithLeasesOrVersionedWriteThrough() async throws {
        let checker = ConsistencyChecker(configuration: .init(
            operations: 4_000, strategies: [.versionedWriteThrough, .leases, .leasesWithInProcessTier], nemesis: [.killConnections, .pause],
            nemesisInterval: .milliseconds(100)))
        let report = try await checker.run(redisURL: nil, progress: DemoProgress { _ in })
        #expect(report.strategies.count == 3)
        for result in report.strategies {
            #expect(result.staleReads == 0, "\(result.name)")
            #expect(result.faultsInjected > 0, "\(result.name)")
            #expect(result.operations >= 3_900)
        }
    }

    /// A restart without persistence loses leases and watermarks alike; a fill needs a lease that
    /// still exists, so leases stay free of stale reads.
    @Test(.timeLimit(.minutes(3))) func redisRestartsCauseNoStaleReadsWithLeases() async throws {
        let checker = ConsistencyChecker(configuration: .init(
            operations: 4_000, strategies: [.leases], nemesis: [.restart], nemesisInterval: .milliseconds(200)))
        let report = try await checker.run(redisURL: nil, progress: DemoProgress { _ in })
        let leases = try #require(report.strategies.first)
        #expect(leases.staleReads == 0)
        #expect(leases.faultsInjected > 0)
    }

    @Test func theRestartFaultNeedsThePrivateServer() async throws {
        let server = try await RedisServer.start()
        let checker = ConsistencyChecker(configuration: .init(operations: 10, nemesis: [.restart]))
        await #expect(throws: DemoError.self) {
            _ = try await checker.run(redisURL: "redis://127.0.0.1:\(server.port)", progress: DemoProgress { _ in })
        }
        await server.stop()
    }

    /// `--redis` with a Cluster node runs every instance over a cluster client (keys spread over
    /// the shards); `redis+sentinel://` over a Sentinel-resolved primary.
    @Test(.timeLimit(.minutes(4))) func theCheckRunsOverClusterAndSentinelURLs() async throws {
        let cluster = try await RedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        do {
            let node = cluster.endpoints[0]
            let checker = ConsistencyChecker(configuration: .init(operations: 2_000, hotKeys: 8, strategies: [.leases]))
            let report = try await checker.run(redisURL: "redis://\(node.host):\(node.port)", progress: DemoProgress { _ in })
            #expect(report.strategies.first?.staleReads == 0)
            #expect((report.strategies.first?.operations ?? 0) >= 1_900)
            // Entries landed on more than one primary.
            var primariesWithKeys = 0
            for server in cluster.nodes {
                if case .integer(let keys) = try server.command("DBSIZE"), keys > 0 { primariesWithKeys += 1 }
            }
            #expect(primariesWithKeys >= 2)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()

        let topology = try await RedisSentinelTopology.start(.init(replicas: 0, sentinels: 1, quorum: 1))
        do {
            let sentinel = topology.sentinelEndpoints[0]
            let checker = ConsistencyChecker(configuration: .init(operations: 2_000, strategies: [.versionedWriteThrough]))
            let report = try await checker.run(
                redisURL: "redis+sentinel://\(sentinel.host):\(sentinel.port)/\(topology.serviceName)", progress: DemoProgress { _ in })
            #expect(report.strategies.first?.staleReads == 0)
            #expect((report.strategies.first?.operations ?? 0) >= 1_900)
        } catch {
            await topology.stop()
            throw error
        }
        await topology.stop()
    }
}
