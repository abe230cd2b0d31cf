import Foundation
import StrataOperations

/// Loads the payloads recorded from a local redis-server 7.0.15 with
/// `scripts/record-doctor-fixtures.py` (see Fixtures/README.md).
///
/// `healthy` was recorded from a server holding 100 200 keys (200 of them with a TTL) and then
/// edited into a well-configured cache: maxmemory 64 MB, allkeys-lru, latency monitor at 100 ms,
/// 95 % hits. `fragmented` is the same server after deleting 80 % of its keys; its MEMORY DOCTOR
/// text and fragmentation numbers are as recorded.
enum DoctorFixture: String {
    case healthy
    case fragmented

    private static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func text(_ file: String) -> String {
        let url = Self.directory.appendingPathComponent(rawValue).appendingPathComponent(file)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { fatalError("missing fixture \(url.path)") }
        return text
    }

    /// The snapshot the collector would have read, with a connecting user allowed everything and
    /// a password-protected default user, and a key sample of 100 keys all with TTLs.
    var snapshot: DoctorSnapshot {
        var config: [String: String] = [:]
        for line in text("config.txt").split(separator: "\n", omittingEmptySubsequences: true) {
            let name = line.prefix { $0 != " " }
            config[String(name)] = String(line.dropFirst(name.count + 1))
        }
        var stats: [String: Double] = [:]
        for line in text("memory-stats.txt").split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":"), let value = Double(line[line.index(after: colon)...]) else { continue }
            stats[String(line[..<colon])] = value
        }
        return DoctorSnapshot(
            node: "127.0.0.1:27311", info: DoctorParsing.fields(infoText: text("info.txt")), config: config,
            memoryStats: stats, memoryDoctor: text("memory-doctor.txt"),
            access: DoctorAccessFacts(user: "default", defaultUserFlags: ["on"], dangerousCommands: ["FLUSHALL": false]),
            slowlogLength: 0, latencyEvents: [], clients: DoctorParsing.clients(clientList: text("client-list.txt")),
            keySample: DoctorKeySample(sampled: 100, withoutTTL: 0, sizes: Array(repeating: 300, count: 100), complete: false)
        )
    }
}

extension DoctorSnapshot {
    /// The severity of the finding `id` under `policy`; nil when the rule reported nothing.
    func severity(of id: String, policy: DoctorPolicy = DoctorPolicy()) -> DoctorSeverity? {
        finding(id, policy: policy)?.severity
    }

    /// The finding `id` under `policy`.
    func finding(_ id: String, policy: DoctorPolicy = DoctorPolicy()) -> DoctorFinding? {
        let findings = DoctorRule.evaluate(self, policy: policy).filter { $0.id == id }
        precondition(findings.count <= 1, "rule \(id) reported \(findings.count) findings")
        return findings.first
    }

    /// A copy with `edit` applied.
    func with(_ edit: (inout DoctorSnapshot) -> Void) -> DoctorSnapshot {
        var copy = self
        edit(&copy)
        return copy
    }
}
