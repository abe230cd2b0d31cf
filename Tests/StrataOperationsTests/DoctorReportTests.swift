import Foundation
import Redis
import StrataOperations
import Testing

/// The report's rendering, exit code and JSON, and target parsing.
@Suite("Doctor report and target")
struct DoctorReportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func report(_ fixture: DoctorFixture) -> DoctorReport {
        let snapshot = fixture.snapshot
        return DoctorReport(
            kind: .standalone, target: snapshot.node, use: .cache,
            nodes: [.init(node: snapshot.node, role: snapshot.role, version: snapshot.info["redis_version"], findings: DoctorRule.evaluate(snapshot))]
        )
    }

    /// The golden report: the text for the recorded fragmented server. Regenerate with
    /// `STRATA_RECORD_GOLDEN=1` after an intended change, and review the diff.
    @Test func fragmentedRecordingRendersTheGoldenReport() throws {
        let text = report(.fragmented).text()
        let golden = Self.fixtures.appendingPathComponent("fragmented/report.txt")
        if ProcessInfo.processInfo.environment["STRATA_RECORD_GOLDEN"] == "1" {
            try (text + "\n").write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text + "\n" == expected)
    }

    @Test func exitCodeIsTwoOnlyWithACriticalFinding() {
        #expect(report(.healthy).exitCode == 0)
        var critical = report(.healthy)
        critical.nodes[0].findings.append(DoctorFinding(id: "x", category: .memory, severity: .crit, title: "t"))
        #expect(critical.exitCode == 2)
        #expect(critical.summary.crit == 1)
        #expect(critical.text().hasSuffix("— exit 2"))
    }

    @Test func textGroupsByCategoryWithTheMostSevereFirst() {
        var report = report(.healthy)
        report.nodes[0].findings = [
            DoctorFinding(id: "a", category: .clients, severity: .ok, title: "fine"),
            DoctorFinding(id: "b", category: .memory, severity: .info, title: "context"),
            DoctorFinding(id: "c", category: .memory, severity: .crit, title: "broken", evidence: [DoctorEvidence("maxmemory", "0 B")], advice: "set it"),
        ]
        let lines = report.text().split(separator: "\n").map(String.init)
        let memory = lines.firstIndex(of: "MEMORY")!
        #expect(lines[memory + 1].hasPrefix("  CRIT  broken  [c]"))
        #expect(lines[memory + 2] == "        maxmemory = 0 B")
        #expect(lines[memory + 3] == "        → set it")
        #expect(lines[memory + 4].hasPrefix("  INFO  context"))
        #expect(lines.firstIndex(of: "CLIENTS")! > memory)
    }

    @Test func jsonCarriesFindingsSummaryAndExitCode() throws {
        let json = report(.fragmented).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["exitCode"] as? Int == 2)
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(summary["warn"] == 3)
        let nodes = try #require((object["report"] as? [String: Any])?["nodes"] as? [[String: Any]])
        let findings = try #require(nodes.first?["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["id"] as? String == "memory.fragmentation.allocator" && $0["severity"] as? String == "WARN" })
    }

    @Test func targetsParseNodeAndSentinelURLs() throws {
        guard case .node(let node) = try #require(DoctorTarget(url: "redis://:pw@10.0.0.5:6390")) else {
            Issue.record("expected a node target")
            return
        }
        #expect(node.endpoint == RedisEndpoint(host: "10.0.0.5", port: 6390))
        #expect(node.password == "pw")
        guard case .sentinel(let sentinels, let service, let nodes) = try #require(
            DoctorTarget(url: "redis+sentinel://user:pw@10.0.0.7:26380,10.0.0.8/mymaster")
        ) else {
            Issue.record("expected a sentinel target")
            return
        }
        #expect(sentinels == [RedisEndpoint(host: "10.0.0.7", port: 26380), RedisEndpoint(host: "10.0.0.8", port: 26379)])
        #expect(service == "mymaster")
        #expect(nodes.username == "user" && nodes.password == "pw")
        guard case .sentinel(let viaOption, "svc", _) = try #require(DoctorTarget(url: "redis://10.0.0.9:26379", sentinelService: "svc")) else {
            Issue.record("expected a sentinel target")
            return
        }
        #expect(viaOption == [RedisEndpoint(host: "10.0.0.9", port: 26379)])
        #expect(DoctorTarget(url: "http://x") == nil)
        #expect(DoctorTarget(url: "redis+sentinel://10.0.0.7:26379/") == nil)
    }
}
