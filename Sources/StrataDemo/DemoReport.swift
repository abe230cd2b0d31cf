/// The outcome of a demo run: one section per scenario, one row per setup. Every number is computed
/// from what happened in the run.
public struct DemoReport: Codable, Sendable {
    /// Whether this was a `--quick` run.
    public var quick: Bool
    /// Application instances per setup.
    public var instances: Int
    /// Rows in the product catalogue.
    public var catalogRows: Int
    /// The scenarios in the order they ran.
    public var scenarios: [ScenarioReport]
}

/// One scenario's comparison.
public struct ScenarioReport: Codable, Sendable {
    /// A stable identifier (`steady_state`, `hot_key_expiry`, …).
    public var id: String
    /// The heading shown to people.
    public var title: String
    /// What the scenario asks.
    public var question: String
    /// `measured`, or `pending` when the capability it needs is not built yet.
    public var status: String
    /// One row per setup, naive first.
    public var rows: [ScenarioRow]
    /// Plain-language conclusion derived from the rows.
    public var verdict: String
}

/// What one setup did in one scenario.
public struct ScenarioRow: Codable, Sendable {
    /// The setup's name.
    public var setup: String
    /// Requests sent.
    public var requests: Int
    /// Requests that failed.
    public var errors: Int
    /// Median request latency in milliseconds.
    public var p50Milliseconds: Double
    /// 99th-percentile request latency in milliseconds.
    public var p99Milliseconds: Double
    /// Slowest request in milliseconds.
    public var maxMilliseconds: Double
    /// Queries that reached the source of truth.
    public var sourceQueries: Int
    /// Source queries per second over the run.
    public var sourceQueriesPerSecond: Double
    /// Share of requests answered by the in-process tier.
    public var memoryHitRatio: Double
    /// Share of requests answered by Redis.
    public var redisHitRatio: Double
    /// Scenario-specific figures (for example `loads_per_expiry`, `peak_source_qps_after_flush`).
    public var figures: [String: Double]
    /// Source queries per second, per timeline bucket (for charts).
    public var sourceQPSSeries: [Double]
    /// Hit ratio (either tier) per timeline bucket.
    public var hitRatioSeries: [Double]
}

extension ScenarioRow {
    init(setup: String, result: WorkloadResult, timeline: Timeline, figures: [String: Double] = [:]) {
        let percentiles = result.latencies.percentiles([50, 99, 100])
        let seconds = max(result.elapsed.cacheSeconds, 0.001)
        // The last bucket is usually cut short by the end of the run; charts leave it out.
        let requests = Array(timeline.series(.request).dropLast())
        let memory = timeline.series(.memoryHit)
        let redis = timeline.series(.redisHit)
        let bucketSeconds = timeline.bucket.cacheSeconds
        let totalRequests = max(1, timeline.series(.request).reduce(0, +))
        self.init(
            setup: setup, requests: result.requests, errors: result.errors,
            p50Milliseconds: percentiles[0], p99Milliseconds: percentiles[1], maxMilliseconds: percentiles[2],
            sourceQueries: result.sourceQueries, sourceQueriesPerSecond: Double(result.sourceQueries) / seconds,
            memoryHitRatio: Double(memory.reduce(0, +)) / Double(totalRequests),
            redisHitRatio: Double(redis.reduce(0, +)) / Double(totalRequests),
            figures: figures,
            sourceQPSSeries: timeline.series(.sourceQuery).prefix(requests.count).map { Double($0) / bucketSeconds },
            hitRatioSeries: requests.indices.map { index in
                let hits = (index < memory.count ? memory[index] : 0) + (index < redis.count ? redis[index] : 0)
                return requests[index] == 0 ? 0 : Double(hits) / Double(requests[index])
            })
    }
}
