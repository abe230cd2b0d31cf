/// How serious a ``DoctorFinding`` is.
///
/// Sorted from most to least urgent: `crit`, `warn`, `info`, `ok`.
public enum DoctorSeverity: String, Hashable, Sendable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    /// Breaks a production cache now or at the next load spike; `strata doctor` exits with 2.
    case crit = "CRIT"
    /// Worth fixing: a risk, a waste, or a setting that contradicts the stated use.
    case warn = "WARN"
    /// Context an operator should know; nothing to fix by itself.
    case info = "INFO"
    /// Checked and fine.
    case ok = "OK"

    /// The upper-case label used in reports (`CRIT`, `WARN`, `INFO`, `OK`).
    public var description: String { rawValue }

    private var rank: Int {
        switch self {
        case .crit: 0
        case .warn: 1
        case .info: 2
        case .ok: 3
        }
    }

    /// More urgent severities sort first.
    public static func < (lhs: DoctorSeverity, rhs: DoctorSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// The area of the production checklist a finding belongs to; reports group findings by it.
public enum DoctorCategory: String, Hashable, Sendable, Codable, CaseIterable {
    /// `maxmemory`, usage, fragmentation, swapping.
    case memory
    /// Eviction policy, TTL coverage, evictions and stale expired keys.
    case eviction
    /// RDB/AOF mode and the last save or write status.
    case persistence
    /// Connection counts, rejected connections, output buffers, idle and memory-heavy clients.
    case clients
    /// Hit ratio, latency monitor, slow log, big keys, client-tracking table.
    case performance
    /// Protected mode, passwords, dangerous commands, TLS.
    case security
    /// Role, replication links and lag.
    case replication
    /// Cluster state and slot coverage, Sentinel quorum.
    case topology
    /// What the doctor itself could not read.
    case doctor
}

/// One named number or setting a finding is based on, such as `maxmemory = 0 B`.
public struct DoctorEvidence: Hashable, Sendable, Codable {
    /// The field or setting's name, as Redis spells it where there is one.
    public var name: String
    /// The value read, formatted for people (bytes with units, ratios with two decimals).
    public var value: String

    /// Creates a piece of evidence.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One result of one ``DoctorRule``: what was checked, how bad it is, the numbers read, and what to do.
///
/// A rule reports `ok` when it checked and found nothing, so a report shows what was covered,
/// not only what failed. Findings may name keys (big keys) because the operator asked for them;
/// they never carry values.
public struct DoctorFinding: Hashable, Sendable, Codable {
    /// A stable identifier such as `memory.maxmemory`; the same for every outcome of one check.
    public var id: String
    /// The checklist area.
    public var category: DoctorCategory
    /// How serious it is.
    public var severity: DoctorSeverity
    /// One line saying what was found.
    public var title: String
    /// The numbers and settings the verdict rests on, in reading order.
    public var evidence: [DoctorEvidence]
    /// What to do about it; nil for `ok` findings.
    public var advice: String?
    /// Longer text quoted from the server (such as `MEMORY DOCTOR`'s report), if any.
    public var detail: String?

    /// Creates a finding.
    public init(
        id: String, category: DoctorCategory, severity: DoctorSeverity, title: String,
        evidence: [DoctorEvidence] = [], advice: String? = nil, detail: String? = nil
    ) {
        self.id = id
        self.category = category
        self.severity = severity
        self.title = title
        self.evidence = evidence
        self.advice = advice
        self.detail = detail
    }
}
