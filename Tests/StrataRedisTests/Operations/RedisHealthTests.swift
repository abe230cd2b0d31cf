import Foundation
import MetricsTestKit
import NIOCore
import RESP
import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Testing

/// An executor whose every command fails, as a lost server does.
private struct UnreachableExecutor: RedisCommandExecutor {
    func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount?) async throws(RedisError) -> Command.Response {
        throw RedisError(.connectionFailed, serverMessage: "unreachable")
    }
    func pipeline(_ commands: [any RedisCommand], timeout: TimeAmount?) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        throw RedisError(.connectionFailed, serverMessage: "unreachable")
    }
}

@Suite("Redis health and client metric names")
struct RedisHealthTests {
    private typealias Names = StrataMetricNames.RedisServer

    @Test func aReadingReportsEveryGaugeFromOneServer() async throws {
        let server = try await RedisServer.shared(named: "strata-redis-tier")
        let metrics = TestMetrics()
        let prefix = "health:\(UInt32.random(in: 0...UInt32.max)):"
        try await RedisConnection.connect(configuration: RedisConnectionConfiguration(
            endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(10))
        ).closing { connection in
            let health = RedisHealth(executor: connection, factory: metrics)
            #expect(await health.poll() != nil)
            try await connection.set(prefix + "present", to: "v")
            for _ in 0..<3 { _ = try await connection.get(prefix + "present") }
            _ = try await connection.get(prefix + "absent")
            let reading = try #require(await health.poll())
            #expect(reading.usedMemory.map { $0 > 0 } == true)
            #expect(reading.connectedClients.map { $0 >= 1 } == true)
        }
        for (name, kind) in Names.all where kind == .gauge {
            #expect(metrics.recorders.contains { $0.label == name }, "\(name) was never created")
        }
        #expect(try metrics.expectGauge(Names.usedMemory).lastValue.map { $0 > 0 } == true)
        #expect(try metrics.expectGauge(Names.maxmemory).lastValue != nil)
        #expect(try metrics.expectGauge(Names.fragmentationRatio).lastValue.map { $0 > 0 } == true)
        #expect(try metrics.expectGauge(Names.allocatorFragmentationRatio).lastValue != nil)
        #expect(try metrics.expectGauge(Names.evictedKeys).lastValue == 0)
        #expect(try metrics.expectGauge(Names.connectedClients).lastValue.map { $0 >= 1 } == true)
        #expect(try metrics.expectGauge(Names.operationsPerSecond).lastValue != nil)
        // Other tests share the server, so the interval saw at least our 3 hits and 1 miss.
        let ratio = try #require(try metrics.expectGauge(Names.keyspaceHitRatio).lastValue)
        #expect(ratio > 0 && ratio < 1)
        #expect(try metrics.expectCounter(Names.readFailures).totalValue == 0)
    }

    @Test func aFailedReadingIsCountedAndLeavesTheGaugesAlone() async throws {
        let metrics = TestMetrics()
        let health = RedisHealth(executor: UnreachableExecutor(), factory: metrics)
        #expect(await health.poll() == nil)
        #expect(await health.poll() == nil)
        #expect(try metrics.expectCounter(Names.readFailures).totalValue == 2)
        #expect(try metrics.expectGauge(Names.usedMemory).lastValue == nil)
    }

    @Test func theServiceStopsWhenCancelledWithoutThrowing() async throws {
        let health = RedisHealth(executor: UnreachableExecutor(), configuration: .init(interval: .milliseconds(10)), factory: TestMetrics())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await health.run() }
            try await Task.sleep(for: .milliseconds(50))
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test func hitRatioCoversTheIntervalAndIgnoresACounterReset() {
        let first = RedisHealthReading(info: ["keyspace_hits": "90", "keyspace_misses": "10"])
        let second = RedisHealthReading(info: ["keyspace_hits": "93", "keyspace_misses": "11"])
        let restarted = RedisHealthReading(info: ["keyspace_hits": "1", "keyspace_misses": "0"])
        #expect(first.keyspaceHitRatio(since: nil) == 0.9)
        #expect(second.keyspaceHitRatio(since: first) == 0.75)
        #expect(second.keyspaceHitRatio(since: second) == nil)
        #expect(restarted.keyspaceHitRatio(since: second) == nil)
    }

    /// The Redis module cannot use `StrataMetricNames`; this keeps the list in step with it.
    @Test func theClientMetricNamesListedForDashboardsAreTheOnesTheClientEmits() async throws {
        let server = try await RedisServer.shared(named: "strata-redis-tier")
        let metrics = TestMetrics()
        let client = try RedisClient(
            configuration: RedisConnectionConfiguration(
                endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(10)),
            metrics: RedisMetrics(factory: metrics))
        let key = "health:names:\(UInt32.random(in: 0...UInt32.max))"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.set(key, to: "v")
            _ = try? await client.send(HGET(key, field: "f"))
            client.shutdown()
            try await group.waitForAll()
        }
        let labels = metrics.counters.map(\.label) + metrics.recorders.map(\.label) + metrics.timers.map(\.label)
        let rendered = Set(labels.map { $0.replacingOccurrences(of: ".", with: "_") })
        #expect(rendered == Set(StrataMetricNames.RedisClient.all.keys))
        #expect(Set(metrics.timers.map { $0.label.replacingOccurrences(of: ".", with: "_") })
            == Set(StrataMetricNames.RedisClient.all.filter { $0.value == .timer }.keys))
    }
}
