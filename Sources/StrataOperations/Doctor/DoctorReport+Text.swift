extension DoctorReport {
    /// The report for people: per node, findings grouped by category, most severe first within
    /// each group; evidence and advice under every finding that is not `OK`.
    ///
    /// - Parameter verbose: also print the evidence of `OK` findings.
    public func text(verbose: Bool = false) -> String {
        var lines = ["strata doctor · \(target) · \(kind.rawValue) · use: \(use)"]
        if !topologyFindings.isEmpty {
            lines.append("")
            lines.append(Self.rule("deployment"))
            lines += Self.render(topologyFindings, verbose: verbose)
        }
        for node in nodes {
            lines.append("")
            lines.append(Self.rule([node.node, node.role, node.version.map { "Redis \($0)" }].compactMap { $0 }.joined(separator: " · ")))
            lines += Self.render(node.findings, verbose: verbose)
        }
        let summary = summary
        lines.append("")
        lines.append(
            "summary: \(summary.crit) CRIT · \(summary.warn) WARN · \(summary.info) INFO · \(summary.ok) OK"
                + " across \(nodes.count) node\(nodes.count == 1 ? "" : "s")"
                + (exitCode == 0 ? "" : " — exit \(exitCode)")
        )
        return lines.joined(separator: "\n")
    }

    private static func rule(_ title: String) -> String {
        let head = "── \(title) "
        return head + String(repeating: "─", count: max(3, 78 - head.count))
    }

    private static func render(_ findings: [DoctorFinding], verbose: Bool) -> [String] {
        var lines: [String] = []
        for category in DoctorCategory.allCases {
            let group = findings.filter { $0.category == category }
            guard !group.isEmpty else { continue }
            lines.append(category.rawValue.uppercased())
            // Stable sort: most severe first, rule order within a severity.
            let sorted = group.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }
            for finding in sorted.map(\.element) {
                lines.append("  " + finding.severity.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + " "
                    + finding.title + "  [\(finding.id)]")
                guard finding.severity != .ok || verbose else { continue }
                if !finding.evidence.isEmpty {
                    let evidence = finding.evidence.map { "\($0.name) = \($0.value)" }.joined(separator: " · ")
                    lines += wrap(evidence, indent: "        ")
                }
                if let advice = finding.advice { lines += wrap("→ " + advice, indent: "        ") }
                if let detail = finding.detail {
                    for paragraph in detail.split(whereSeparator: \.isNewline) {
                        lines += wrap(String(paragraph).trimmingSpaces(), indent: "        │ ")
                    }
                }
            }
        }
        return lines
    }

    /// Wraps `text` at word boundaries to 100 columns including `indent`.
    static func wrap(_ text: String, indent: String, width: Int = 100) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !current.isEmpty, indent.count + current.count + 1 + word.count > width {
                lines.append(indent + current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " " + word
        }
        if !current.isEmpty { lines.append(indent + current) }
        return lines
    }
}
