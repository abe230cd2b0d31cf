import Foundation

extension DemoReport {
    /// The report as terminal tables, one per scenario.
    public func renderText() -> String {
        var out = "Strata demo — \(instances) application instances per setup, \(catalogRows) products, "
            + "source latency injected per query\(quick ? " (quick run)" : "")\n"
        for scenario in scenarios {
            out += "\n\(scenario.title)\n  \(scenario.question)\n"
            guard scenario.status == "measured" else {
                out += "  \(scenario.verdict)\n"
                continue
            }
            if scenario.id == "concurrent_writes" {
                out += Self.renderTable(scenario.consistencyTable)
                out += "  → \(scenario.verdict)\n"
                continue
            }
            let extraKeys = Array(Set(scenario.rows.flatMap { $0.figures.keys })).sorted()
            var header = ["setup", "requests", "errors", "p50 ms", "p99 ms", "max ms", "source q/s", "memory hits", "redis hits"]
            header += extraKeys
            var table = [header]
            for row in scenario.rows {
                var cells = [
                    row.setup, "\(row.requests)", "\(row.errors)", DemoScenarios.format(row.p50Milliseconds),
                    DemoScenarios.format(row.p99Milliseconds), DemoScenarios.format(row.maxMilliseconds),
                    DemoScenarios.format(row.sourceQueriesPerSecond), DemoScenarios.percent(row.memoryHitRatio),
                    DemoScenarios.percent(row.redisHitRatio),
                ]
                cells += extraKeys.map { key in row.figures[key].map(DemoScenarios.format) ?? "" }
                table.append(cells)
            }
            out += Self.renderTable(table)
            out += "  → \(scenario.verdict)\n"
        }
        return out
    }

    static func renderTable(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        var out = ""
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            out += "  " + cells.joined(separator: "  ") + "\n"
            if index == 0 { out += "  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }

    /// The report as JSON (snake_case keys).
    public func renderJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension ScenarioReport {
    /// The consistency scenario's own columns (its rows carry no latency).
    var consistencyTable: [[String]] {
        var table = [["strategy", "operations", "stale reads", "max staleness ms", "loader calls", "hit ratio"]]
        for row in rows {
            table.append([
                row.setup, "\(row.requests)", "\(Int(row.figures["stale_reads"] ?? 0))",
                DemoScenarios.format(row.figures["max_staleness_ms"] ?? 0), "\(row.sourceQueries)",
                DemoScenarios.percent(row.redisHitRatio),
            ])
        }
        return table
    }
}
