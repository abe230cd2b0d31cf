import MetricsTestKit
import NIOCore
import Redis
import RedisServerHarness
import Testing

@Suite("Metrics")
struct MetricsTests {
    @Test("latency by command, errors by command and code, pool gauges; no key becomes a dimension")
    func commandAndPoolMetrics() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let metrics = TestMetrics()
        try await withClient(configuration(for: server), metrics: RedisMetrics(prefix: "cache", factory: metrics)) { client in
            try await client.set(p + "secret-key", to: "v")
            _ = try await client.get(p + "secret-key")
            _ = try? await client.send(HGET(p + "secret-key", field: "f"))
            // Gauges are sampled by the pool's maintenance loop.
            try await Task.sleep(for: .milliseconds(150))
        }
        let getTimer = try metrics.expectTimer("cache.command.duration", [("command", "GET")])
        #expect(getTimer.values.count == 1)
        #expect(try metrics.expectTimer("cache.command.duration", [("command", "SET")]).values.count == 1)
        let errors = try metrics.expectCounter("cache.command.errors", [("command", "HGET"), ("code", "WRONGTYPE")])
        #expect(errors.totalValue == 1)
        #expect(try metrics.expectGauge("cache.pool.connections.open").lastValue != nil)
        #expect(try metrics.expectGauge("cache.pool.breaker.open").lastValue == 0)
        let dimensions = metrics.timers.flatMap { $0.dimensions.map(\.1) } + metrics.counters(label: "cache.command.errors").flatMap { $0.dimensions.map(\.1) }
        #expect(!dimensions.contains { $0.contains("secret") })
    }
}
