import Foundation
import Strata
import Testing

/// `docs/grafana/strata-dashboard.json` only queries metrics Strata emits.
@Suite("Grafana dashboard")
struct DashboardTests {
    private func dashboard() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/grafana/strata-dashboard.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try #require(object as? [String: Any])
    }

    private func expressions(in value: Any) -> [String] {
        switch value {
        case let object as [String: Any]:
            let own = (object["expr"] as? String).map { [$0] } ?? []
            return own + object.values.flatMap(expressions(in:))
        case let array as [Any]:
            return array.flatMap(expressions(in:))
        default:
            return []
        }
    }

    /// Names of Strata's families in a PromQL expression (`strata_…`, `redis_…`), not label names.
    private func metricNames(in expression: String) throws -> Set<String> {
        let pattern = try NSRegularExpression(pattern: #"(?<![A-Za-z0-9_"])(strata|redis)_[A-Za-z0-9_]+(?=\s*[\{\[\)\s,]|$)"#)
        let range = NSRange(expression.startIndex..., in: expression)
        return Set(pattern.matches(in: expression, range: range).compactMap { match in
            Range(match.range, in: expression).map { String(expression[$0]) }
        })
    }

    @Test func isAModernDashboardWithQueriesInEveryPanel() throws {
        let dashboard = try dashboard()
        #expect((dashboard["schemaVersion"] as? Int).map { $0 >= 36 } == true)
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let graphs = panels.filter { $0["type"] as? String != "row" }
        #expect(graphs.count >= 10)
        for panel in graphs {
            #expect(!expressions(in: panel).isEmpty, "panel \(panel["title"] ?? "?") has no query")
        }
    }

    @Test func everyQueriedMetricIsOneStrataEmits() throws {
        let emitted = StrataMetricNames.allPrometheusSeries
        let queried = try expressions(in: try dashboard()).reduce(into: Set<String>()) { $0.formUnion(try metricNames(in: $1)) }
        #expect(queried.count >= 15)
        #expect(queried.subtracting(emitted).isEmpty, "not emitted: \(queried.subtracting(emitted).sorted())")
    }

    @Test func theBreakerPoolMemoryAndLatencyAreAllOnIt() throws {
        let queried = try expressions(in: try dashboard()).reduce(into: Set<String>()) { $0.formUnion(try metricNames(in: $1)) }
        let required = [
            "strata_cache_hits_total", "strata_cache_load_duration_seconds_bucket", "strata_cache_stale_served_total",
            "strata_cache_breaker_open", StrataMetricNames.RedisClient.poolInUse, StrataMetricNames.RedisServer.usedMemory,
            StrataMetricNames.RedisServer.fragmentationRatio, StrataMetricNames.RedisServer.evictedKeys,
        ]
        for name in required { #expect(queried.contains(name), "\(name) is not on the dashboard") }
    }
}
