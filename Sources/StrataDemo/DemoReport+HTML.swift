import Foundation

/// A self-contained HTML report: tables plus inline SVG charts, no scripts, no external files.
extension DemoReport {
    static let palette = ["#c0392b", "#2471a3", "#1e8449", "#7d3c98"]

    /// The report as one HTML document.
    public func renderHTML() -> String {
        var body = "<h1>Strata demo</h1><p>\(instances) application instances per setup, \(catalogRows) products"
            + "\(quick ? ", quick run" : ""). Every number below was measured in this run.</p>"
        for scenario in scenarios {
            body += "<section><h2>\(escape(scenario.title))</h2><p class=q>\(escape(scenario.question))</p>"
            guard scenario.status == "measured" else {
                body += "<p><em>\(escape(scenario.verdict))</em></p></section>"
                continue
            }
            if scenario.id == "concurrent_writes" {
                let table = scenario.consistencyTable
                body += "<table><tr>" + table[0].map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
                for row in table.dropFirst() { body += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }
                body += "</table><p class=v>\(escape(scenario.verdict))</p></section>"
                continue
            }
            body += table(scenario)
            body += "<p class=v>\(escape(scenario.verdict))</p><div class=charts>"
            body += chart(
                title: "Source queries per second", series: scenario.rows.map { ($0.setup, $0.sourceQPSSeries) },
                bucketSeconds: nil)
            body += chart(
                title: "Hit ratio (either tier)", series: scenario.rows.map { ($0.setup, $0.hitRatioSeries) },
                bucketSeconds: nil, fixedMaximum: 1)
            body += latencyBars(scenario)
            body += "</div></section>"
        }
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>Strata demo report</title><style>
            body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
            table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 9px;border-bottom:1px solid #ddd;text-align:right}
            td:first-child,th:first-child{text-align:left}.q{color:#555}.v{font-weight:600}
            .charts{display:flex;flex-wrap:wrap;gap:12px}svg{background:#fafafa;border:1px solid #eee}
            </style></head><body>\(body)</body></html>
            """
    }

    private func table(_ scenario: ScenarioReport) -> String {
        let extraKeys = Array(Set(scenario.rows.flatMap { $0.figures.keys })).sorted()
        var html = "<table><tr><th>setup</th><th>requests</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th>"
            + "<th>source q/s</th><th>memory hits</th><th>redis hits</th>"
        html += extraKeys.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        for row in scenario.rows {
            html += "<tr><td>\(escape(row.setup))</td><td>\(row.requests)</td><td>\(row.errors)</td>"
            html += [row.p50Milliseconds, row.p99Milliseconds, row.maxMilliseconds, row.sourceQueriesPerSecond]
                .map { "<td>\(DemoScenarios.format($0))</td>" }.joined()
            html += "<td>\(DemoScenarios.percent(row.memoryHitRatio))</td><td>\(DemoScenarios.percent(row.redisHitRatio))</td>"
            html += extraKeys.map { "<td>\(row.figures[$0].map(DemoScenarios.format) ?? "")</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    private func chart(title: String, series: [(String, [Double])], bucketSeconds: Double?, fixedMaximum: Double? = nil) -> String {
        let width = 340.0
        let height = 180.0
        let pad = 30.0
        let longest = max(2, series.map(\.1.count).max() ?? 2)
        let maximum = fixedMaximum ?? max(1, series.flatMap(\.1).max() ?? 1)
        var svg = "<svg width=\(Int(width)) height=\(Int(height)) viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=img>"
        svg += "<text x=\(Int(pad)) y=14 font-size=12>\(escape(title)) (max \(DemoScenarios.format(maximum)))</text>"
        svg += "<line x1=\(Int(pad)) y1=\(Int(height - pad)) x2=\(Int(width - 5)) y2=\(Int(height - pad)) stroke=#999 />"
        for (index, (name, values)) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = values.enumerated().map { offset, value in
                let x = pad + (width - pad - 5) * Double(offset) / Double(longest - 1)
                let y = (height - pad) - (height - pad - 22) * min(value, maximum) / maximum
                return "\(Int(x)),\(Int(y))"
            }.joined(separator: " ")
            svg += "<polyline fill=none stroke=\"\(color)\" stroke-width=1.6 points=\"\(points)\" />"
            svg += "<text x=\(Int(pad)) y=\(Int(height - 14 + Double(index) * 0) + 0) dx=\(index * 110) font-size=11 fill=\"\(color)\">\(escape(String(name.prefix(18))))</text>"
        }
        return svg + "</svg>"
    }

    private func latencyBars(_ scenario: ScenarioReport) -> String {
        let width = 340.0
        let rowHeight = 34.0
        let height = 24 + rowHeight * Double(scenario.rows.count)
        let maximum = max(1, scenario.rows.map(\.p99Milliseconds).max() ?? 1)
        var svg = "<svg width=\(Int(width)) height=\(Int(height)) role=img><text x=8 y=14 font-size=12>Latency p50 / p99 (ms)</text>"
        for (index, row) in scenario.rows.enumerated() {
            let y = 22 + rowHeight * Double(index)
            let color = Self.palette[index % Self.palette.count]
            let p50 = (width - 150) * row.p50Milliseconds / maximum
            let p99 = (width - 150) * row.p99Milliseconds / maximum
            svg += "<rect x=8 y=\(Int(y)) width=\(max(1, Int(p99))) height=12 fill=\"\(color)\" opacity=.35 />"
            svg += "<rect x=8 y=\(Int(y)) width=\(max(1, Int(p50))) height=12 fill=\"\(color)\" />"
            svg += "<text x=\(Int(14 + p99)) y=\(Int(y + 11)) font-size=11>\(DemoScenarios.format(row.p50Milliseconds)) / \(DemoScenarios.format(row.p99Milliseconds))</text>"
            svg += "<text x=8 y=\(Int(y + 26)) font-size=10 fill=#555>\(escape(row.setup))</text>"
        }
        return svg + "</svg>"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
