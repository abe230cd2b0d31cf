/// How `strata demo` runs.
public struct DemoConfiguration: Sendable {
    /// The ~20 s run the test suite uses, instead of the default's ~100 s (release build, 2 cores).
    public var quick: Bool
    /// Use this Redis instead of starting a private one (`redis://host:port`).
    public var redisURL: String?
    /// Application instances per setup (each with its own client, pool and in-process tier).
    public var instances: Int
    /// Products in the catalogue.
    public var catalogRows: Int
    /// The source of truth's per-query latency.
    public var sourceLatency: ClosedRange<Duration>
    /// The workload's random seed (the same for every setup).
    public var seed: UInt64
    /// Run only the scenarios with these ids (all when empty).
    public var onlyScenarios: Set<String> = []

    /// Creates a configuration with the demo's defaults.
    public init(
        quick: Bool = false, redisURL: String? = nil, instances: Int = 3, catalogRows: Int = 100_000,
        sourceLatency: ClosedRange<Duration> = .milliseconds(2) ... .milliseconds(20), seed: UInt64 = 2026
    ) {
        self.quick = quick
        self.redisURL = redisURL
        self.instances = instances
        self.catalogRows = catalogRows
        self.sourceLatency = sourceLatency
        self.seed = seed
    }

    /// Scales a full-run duration down for `--quick`.
    func duration(full: Duration, quick quickDuration: Duration) -> Duration { quick ? quickDuration : full }
}
