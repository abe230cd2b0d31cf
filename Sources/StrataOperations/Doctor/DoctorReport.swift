import Foundation

/// The outcome of a `strata doctor` run: findings per audited node, plus findings about the
/// deployment as a whole (Sentinel quorum).
///
/// Render it with ``text(verbose:)`` for people or ``json()`` for machines. ``exitCode`` is 2 when
/// any finding is `CRIT`, so a CI job or a deploy check can gate on it.
public struct DoctorReport: Sendable, Codable, Hashable {
    /// The shape of the audited deployment.
    public enum Kind: String, Sendable, Codable, Hashable {
        /// One node (primary or replica).
        case standalone
        /// Every node of a Redis Cluster.
        case cluster
        /// The primary and replicas of a Sentinel service.
        case sentinel
    }

    /// Findings for one node.
    public struct Node: Sendable, Codable, Hashable {
        /// `host:port`.
        public var node: String
        /// `master`, `slave`, or `unknown` when the node could not be read.
        public var role: String
        /// `redis_version`.
        public var version: String?
        /// What the rules found, in rule order.
        public var findings: [DoctorFinding]

        /// Creates a node report.
        public init(node: String, role: String, version: String?, findings: [DoctorFinding]) {
            self.node = node
            self.role = role
            self.version = version
            self.findings = findings
        }
    }

    /// How many findings of each severity.
    public struct Summary: Sendable, Codable, Hashable {
        /// `CRIT` findings.
        public var crit = 0
        /// `WARN` findings.
        public var warn = 0
        /// `INFO` findings.
        public var info = 0
        /// `OK` findings.
        public var ok = 0

        /// The count for one severity.
        public subscript(severity: DoctorSeverity) -> Int {
            switch severity {
            case .crit: crit
            case .warn: warn
            case .info: info
            case .ok: ok
            }
        }
    }

    /// The deployment's shape.
    public var kind: Kind
    /// What was audited (no credentials).
    public var target: String
    /// The stated use the verdicts assume.
    public var use: String
    /// Findings about the deployment as a whole.
    public var topologyFindings: [DoctorFinding]
    /// Findings per node.
    public var nodes: [Node]

    /// Creates a report.
    public init(kind: Kind, target: String, use: DoctorPolicy.Use, topologyFindings: [DoctorFinding] = [], nodes: [Node]) {
        self.kind = kind
        self.target = target
        self.use = use.rawValue
        self.topologyFindings = topologyFindings
        self.nodes = nodes
    }

    /// Every finding, deployment-wide first.
    public var allFindings: [DoctorFinding] { topologyFindings + nodes.flatMap(\.findings) }

    /// Counts per severity over every finding.
    public var summary: Summary {
        var summary = Summary()
        for finding in allFindings {
            switch finding.severity {
            case .crit: summary.crit += 1
            case .warn: summary.warn += 1
            case .info: summary.info += 1
            case .ok: summary.ok += 1
            }
        }
        return summary
    }

    /// 2 when any finding is `CRIT`, 0 otherwise.
    public var exitCode: Int32 { summary.crit > 0 ? 2 : 0 }

    /// The report as pretty-printed JSON with sorted keys, including the summary and exit code.
    public func json() -> String {
        struct Document: Encodable {
            var report: DoctorReport
            var summary: Summary
            var exitCode: Int32
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Document(report: self, summary: summary, exitCode: exitCode))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
