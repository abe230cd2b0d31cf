import Foundation
import Testing

@testable import StrataDemo

/// Runs `strata demo --quick` once (about 20–25 s in a debug build) and checks the report's structure and that every
/// comparison points the right way. Directions only: the numbers themselves vary with the machine.
@Suite(.serialized) struct DemoQuickRunTests {
    @Test func theQuickDemoShowsStrataAheadInEveryMeasuredScenario() async throws {
        let lines = LinesCollector()
        let report = try await DemoRunner.run(
            DemoConfiguration(quick: true, catalogRows: 20_000), progress: DemoProgress { lines.append($0) })
        #expect(lines.count >= 5)

        let ids = report.scenarios.map(\.id)
        #expect(ids == ["steady_state", "hot_key_expiry", "concurrent_writes", "redis_outage", "cold_start"])
        for scenario in report.scenarios where scenario.status == "measured" {
            #expect(scenario.rows.count >= 2, "\(scenario.id)")
            for row in scenario.rows { #expect(row.requests > 0, "\(scenario.id) \(row.setup)") }
        }

        let steady = try #require(report.scenarios.first { $0.id == "steady_state" })
        #expect(steady.rows[1].sourceQueries <= steady.rows[0].sourceQueries + steady.rows[0].sourceQueries / 10)
        #expect(steady.rows[1].memoryHitRatio > 0.3)
        // Not the p50: with about 45% of requests answered in process and 15–25% by Redis, the
        // median lands among Redis hits for both setups and differs by noise. The in-process share
        // and the Redis round trips per request are what the setups really differ in.
        #expect((steady.rows[1].figures["redis_commands_per_request"] ?? 9) < (steady.rows[0].figures["redis_commands_per_request"] ?? 0))
        #expect(steady.rows[0].errors == 0 && steady.rows[1].errors == 0)

        let stampede = try #require(report.scenarios.first { $0.id == "hot_key_expiry" })
        let loads = stampede.rows.map { $0.figures["loads_per_expiry"] ?? .infinity }
        #expect(loads[1] < loads[0])
        #expect(loads[2] < loads[0])

        let writes = try #require(report.scenarios.first { $0.id == "concurrent_writes" })
        let stale = Dictionary(uniqueKeysWithValues: writes.rows.map { ($0.setup, $0.figures["stale_reads"] ?? -1) })
        #expect(stale[ConsistencyChecker.Strategy.leases.rawValue] == 0)
        #expect(stale[ConsistencyChecker.Strategy.versionedWriteThrough.rawValue] == 0)

        let outage = try #require(report.scenarios.first { $0.id == "redis_outage" })
        #expect(outage.rows[1].errors <= outage.rows[0].errors)
        #expect(outage.rows[1].maxMilliseconds < outage.rows[0].maxMilliseconds)

        let cold = try #require(report.scenarios.first { $0.id == "cold_start" })
        let burst = cold.rows.map { $0.figures["source_queries_1s_after_flush"] ?? 0 }
        #expect(cold.rows.map(\.setup) == ["naive cache-aside", "strata", "strata + warming"])
        #expect(burst[1] < burst[0])
        // Warming lowers the burst: after the warm, fewer queries reach the source than without it.
        #expect(burst[2] < burst[1])
        #expect((cold.rows[2].figures["warm_seconds"] ?? 0) > 0)
        #expect((cold.rows[2].figures["warm_source_queries"] ?? 0) > 0)

        let html = report.renderHTML()
        #expect(html.contains("<svg"))
        #expect(html.contains("Hot-key expiry"))
        let json = try JSONSerialization.jsonObject(with: Data(try report.renderJSON().utf8)) as? [String: Any]
        let scenarios = json?["scenarios"] as? [[String: Any]]
        #expect(scenarios?.count == 5)
        #expect((scenarios?.first?["rows"] as? [[String: Any]])?.first?["p99_milliseconds"] != nil)
        #expect(report.renderText().contains("naive cache-aside"))
    }
}

final class LinesCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var count: Int { lines.withLock { $0.count } }
}

import Synchronization
