import Foundation
import Redis
import RedisServerHarness
import Strata
import StrataOperations
import StrataRedis
import Testing

/// `CacheStatisticsPublisher` (StrataRedis) writes, `strata stats --instances` reads.
@Suite("Cache instance statistics published to Redis")
struct InstanceStatsLiveTests {
    private func statistics(memoryHits: Int, memoryMisses: Int, distributedHits: Int, loads: Int) -> CacheStatistics {
        var statistics = CacheStatistics(fields: [:])
        statistics.memoryHits = memoryHits
        statistics.memoryMisses = memoryMisses
        statistics.distributedHits = distributedHits
        statistics.distributedMisses = memoryMisses - distributedHits
        statistics.loads = loads
        statistics.staleServed = 2
        statistics.breakerState = "closed"
        statistics.memoryEntries = 40
        return statistics
    }

    @Test func publishedInstancesAreReadBackWithRatiosPerTierAndExpire() async throws {
        try await withPrivateServer { server in
            try await withConnection(server.configuration()) { connection in
                let first = CacheStatisticsPublisher(
                    statistics: { statistics(memoryHits: 80, memoryMisses: 20, distributedHits: 15, loads: 5) },
                    executor: connection, configuration: .init(instance: "api-1", interval: .seconds(5)))
                let second = CacheStatisticsPublisher(
                    statistics: { statistics(memoryHits: 10, memoryMisses: 10, distributedHits: 5, loads: 5) },
                    executor: connection, configuration: .init(instance: "api-2", interval: .seconds(5)))
                #expect(await first.publish())
                #expect(await second.publish())
                guard case .expires(let left) = try await connection.send(PTTL("strata:stats:api-1")) else {
                    Issue.record("the published hash has no TTL")
                    return
                }
                #expect(left > 0 && left <= 15_000)

                let readings = try await CacheInstanceStatsReader.read(from: connection)
                #expect(readings.map(\.instance) == ["api-1", "api-2"])
                #expect(readings[0].statistics == statistics(memoryHits: 80, memoryMisses: 20, distributedHits: 15, loads: 5))
                #expect(readings[0].publishedAtMilliseconds != nil)

                var tracker = CacheInstanceStatsTracker()
                let rows = tracker.record(readings)
                #expect(rows[0].memoryHitRatio == 0.8)
                #expect(rows[0].distributedHitRatio == 0.75)
                #expect(rows[0].hitRatio == 0.95)
                #expect(rows[0].breakerState == "closed")
                let line = CacheInstanceStatsTracker.line(rows[0])
                #expect(line.hasPrefix("api-1") && line.contains("95.00") && line.contains("closed"))

                let json = try await CacheInstanceStatsMonitor(executor: connection).once()
                let decoded = try JSONDecoder().decode([CacheInstanceStatsTracker.Row].self, from: Data(json.utf8))
                #expect(decoded == rows)

                var output: [String] = []
                try await CacheInstanceStatsMonitor(executor: connection, interval: .milliseconds(1), count: 2).run { output.append($0) }
                // Faster than the instances publish: the same publication shows the same rows.
                #expect(output.count == 2 && output[0] == output[1])
                #expect(output[1].contains("api-2") && output[1].contains("closed"))
            }
        }
    }

    @Test func aNewPublicationIsShownAsTheIntervalSinceThePreviousOne() {
        var tracker = CacheInstanceStatsTracker()
        var first = CacheStatistics(fields: ["memory_hits": "90", "memory_misses": "10", "loads": "10", "published_at": "1"])
        first.breakerState = "closed"
        _ = tracker.record([CacheInstanceStatistics(instance: "a", fields: first.fields.merging(["published_at": "1"]) { $1 })])
        var second = first
        second.memoryHits = 95
        second.memoryMisses = 15
        second.loads = 14
        second.breakerState = "open"
        let rows = tracker.record([CacheInstanceStatistics(instance: "a", fields: second.fields.merging(["published_at": "2"]) { $1 })])
        #expect(rows.first?.memoryHitRatio == 0.5)
        #expect(rows.first?.loads == 4)
        #expect(rows.first?.breakerState == "open")
    }

    @Test func aRunningPublisherRepublishesAndNoInstanceShowsAnEmptyView() async throws {
        try await withPrivateServer { server in
            try await withConnection(server.configuration()) { connection in
                var output: [String] = []
                try await CacheInstanceStatsMonitor(executor: connection, count: 1).run { output.append($0) }
                #expect(output == [CacheInstanceStatsTracker.header + "\n(no instance publishes to strata:stats:*)\n"])

                let publisher = CacheStatisticsPublisher(
                    statistics: { CacheStatistics(fields: ["loads": "3"]) }, executor: connection,
                    configuration: .init(instance: "worker", interval: .milliseconds(20), timeToLive: .seconds(30)))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await publisher.run() }
                    let deadline = ContinuousClock.now + .seconds(10)
                    while try await CacheInstanceStatsReader.read(from: connection).isEmpty, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    group.cancelAll()
                    try await group.waitForAll()
                }
                let readings = try await CacheInstanceStatsReader.read(from: connection)
                #expect(readings.map(\.instance) == ["worker"])
                #expect(readings.first?.statistics.loads == 3)
            }
        }
    }
}
