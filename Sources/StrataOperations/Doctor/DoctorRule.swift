/// One check of the production checklist: a pure function from a ``DoctorSnapshot`` to findings.
///
/// Rules never perform I/O, so each can be tested against recorded payloads with edited values.
/// A rule returns nothing when the data it needs was not readable (the collector reports that
/// once, as `doctor.unreadable`), and an `ok` finding when it checked and found nothing.
public struct DoctorRule: Sendable {
    /// Builds findings carrying the rule's id and category.
    public struct Reporter: Sendable {
        /// The rule's id.
        public let id: String
        /// The rule's category.
        public let category: DoctorCategory

        /// A finding of this rule.
        public func callAsFunction(
            _ severity: DoctorSeverity, _ title: String, _ evidence: [DoctorEvidence] = [], advice: String? = nil,
            detail: String? = nil
        ) -> DoctorFinding {
            DoctorFinding(
                id: id, category: category, severity: severity, title: title, evidence: evidence,
                advice: severity == .ok ? nil : advice, detail: detail
            )
        }
    }

    /// The id of the findings this rule produces, such as `memory.maxmemory`.
    public var id: String { reporter.id }
    /// The checklist area.
    public var category: DoctorCategory { reporter.category }
    private let reporter: Reporter
    private let body: @Sendable (DoctorSnapshot, DoctorPolicy, Reporter) -> [DoctorFinding]

    /// Creates a rule from its evaluation function, which builds findings with the `Reporter` it is given.
    public init(
        id: String, category: DoctorCategory,
        evaluate: @escaping @Sendable (DoctorSnapshot, DoctorPolicy, Reporter) -> [DoctorFinding]
    ) {
        self.reporter = Reporter(id: id, category: category)
        self.body = evaluate
    }

    /// Runs the rule against a snapshot.
    public func evaluate(_ snapshot: DoctorSnapshot, policy: DoctorPolicy) -> [DoctorFinding] {
        body(snapshot, policy, reporter)
    }

    /// Every built-in rule, in report order.
    public static let all: [DoctorRule] =
        memoryRules + evictionRules + persistenceRules + clientRules + performanceRules + securityRules
        + replicationRules + clusterRules + [unreadable]

    /// Runs every rule in `rules` against the snapshot, in order.
    public static func evaluate(
        _ snapshot: DoctorSnapshot, policy: DoctorPolicy = DoctorPolicy(), rules: [DoctorRule] = DoctorRule.all
    ) -> [DoctorFinding] {
        rules.flatMap { $0.evaluate(snapshot, policy: policy) }
    }

    /// `doctor.unreadable`: names what the doctor could not read, so a clean report is not mistaken
    /// for a complete one.
    static let unreadable = DoctorRule(id: "doctor.unreadable", category: .doctor) { snapshot, _, report in
        guard !snapshot.unreadable.isEmpty else { return [] }
        let evidence = snapshot.unreadable.sorted { $0.key < $1.key }.map { DoctorEvidence($0.key, $0.value) }
        return [
            report(
                .info, "\(evidence.count) source(s) could not be read; the checks that need them were skipped", evidence,
                advice: "Run the doctor as a user allowed to read INFO, CONFIG GET, MEMORY, ACL, SLOWLOG, LATENCY and CLIENT LIST, or accept the gaps."
            )
        ]
    }
}

/// How the audited Redis is meant to be used, and the thresholds the rules apply.
///
/// Every threshold has a default taken from Redis's own guidance where there is one
/// (`MEMORY DOCTOR` for fragmentation and client buffers, the active-expire cycle's 10 % for stale
/// keys) and a conservative operator rule of thumb elsewhere.
public struct DoctorPolicy: Sendable, Hashable {
    /// What the server is for.
    public enum Use: String, Sendable, Hashable, CaseIterable {
        /// A cache: data can be recomputed; it must evict, not refuse writes.
        case cache
        /// A primary store: data must survive; eviction would lose it.
        case store
    }

    /// What the server is for; changes the verdict on `maxmemory`, eviction and persistence.
    public var use: Use
    /// `used_memory / maxmemory` at or above which memory usage is a warning.
    public var memoryUsageWarning: Double
    /// `connected_clients / maxclients` at or above which the client count is a warning.
    public var clientCapacityWarning: Double
    /// Keyspace lookups needed before the hit ratio is judged.
    public var minimumLookupsForHitRatio: Int
    /// Hit ratio below which it is a warning.
    public var hitRatioWarning: Double
    /// Sampled keys needed before TTL coverage is judged.
    public var minimumKeySample: Int
    /// Share of sampled keys without TTL at or above which `volatile-*` eviction is a warning.
    public var volatileWithoutTTLWarning: Double
    /// `MEMORY USAGE` at or above which a key counts as big.
    public var bigKeyBytes: Int
    /// Idle seconds after which a client counts as idle.
    public var idleClientSeconds: Int
    /// Idle clients at or above which they are a warning (fewer are reported as info).
    public var idleClientsWarning: Int
    /// `tot-mem` of one client at or above which it is a warning.
    public var clientMemoryWarning: Int
    /// Seconds of replica lag at or above which replication is a warning.
    public var replicaLagWarningSeconds: Int
    /// `tracking_total_keys / tracking-table-max-keys` at or above which tracking is a warning.
    public var trackingTableWarning: Double

    /// Creates a policy; the defaults describe a cache.
    public init(
        use: Use = .cache, memoryUsageWarning: Double = 0.9, clientCapacityWarning: Double = 0.8,
        minimumLookupsForHitRatio: Int = 1000, hitRatioWarning: Double = 0.5, minimumKeySample: Int = 10,
        volatileWithoutTTLWarning: Double = 0.5, bigKeyBytes: Int = 1 << 20, idleClientSeconds: Int = 3600,
        idleClientsWarning: Int = 50, clientMemoryWarning: Int = 32 << 20, replicaLagWarningSeconds: Int = 10,
        trackingTableWarning: Double = 0.9
    ) {
        self.use = use
        self.memoryUsageWarning = memoryUsageWarning
        self.clientCapacityWarning = clientCapacityWarning
        self.minimumLookupsForHitRatio = minimumLookupsForHitRatio
        self.hitRatioWarning = hitRatioWarning
        self.minimumKeySample = minimumKeySample
        self.volatileWithoutTTLWarning = volatileWithoutTTLWarning
        self.bigKeyBytes = bigKeyBytes
        self.idleClientSeconds = idleClientSeconds
        self.idleClientsWarning = idleClientsWarning
        self.clientMemoryWarning = clientMemoryWarning
        self.replicaLagWarningSeconds = replicaLagWarningSeconds
        self.trackingTableWarning = trackingTableWarning
    }
}
