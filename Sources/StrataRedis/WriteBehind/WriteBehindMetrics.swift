import Metrics

/// The swift-metrics instruments of a write-behind queue or worker, created once.
///
/// Labels (with the default prefix `strata.write_behind`): `.enqueued`, `.back_pressure`
/// (refused or delayed enqueues), `.applied`, `.apply_failures`, `.retries` (redeliveries after
/// a failure), `.reclaimed` (taken over from idle consumers), `.dead_lettered` (by `reason`),
/// and the gauges `.lag` (entries not yet delivered) and `.pending` (delivered, not yet
/// acknowledged) by `partition`, sampled by the worker. Keys and payloads are never dimensions.
struct WriteBehindMetrics: Sendable {
    let enqueued: Counter
    let backPressure: Counter
    let applied: Counter
    let applyFailures: Counter
    let retries: Counter
    let reclaimed: Counter
    let deadLetteredFailed: Counter
    let deadLetteredMalformed: Counter
    private let lag: [Gauge]
    private let pending: [Gauge]

    init(prefix: String, partitions: Int, factory: any MetricsFactory) {
        enqueued = Counter(label: "\(prefix).enqueued", dimensions: [], factory: factory)
        backPressure = Counter(label: "\(prefix).back_pressure", dimensions: [], factory: factory)
        applied = Counter(label: "\(prefix).applied", dimensions: [], factory: factory)
        applyFailures = Counter(label: "\(prefix).apply_failures", dimensions: [], factory: factory)
        retries = Counter(label: "\(prefix).retries", dimensions: [], factory: factory)
        reclaimed = Counter(label: "\(prefix).reclaimed", dimensions: [], factory: factory)
        deadLetteredFailed = Counter(
            label: "\(prefix).dead_lettered", dimensions: [("reason", WriteBehindDeadLetterReason.applyFailed.description)],
            factory: factory)
        deadLetteredMalformed = Counter(
            label: "\(prefix).dead_lettered", dimensions: [("reason", WriteBehindDeadLetterReason.malformed.description)],
            factory: factory)
        lag = (0..<partitions).map { Gauge(label: "\(prefix).lag", dimensions: [("partition", String($0))], factory: factory) }
        pending = (0..<partitions).map {
            Gauge(label: "\(prefix).pending", dimensions: [("partition", String($0))], factory: factory)
        }
    }

    func deadLettered(_ reason: WriteBehindDeadLetterReason, count: Int) {
        (reason == .malformed ? deadLetteredMalformed : deadLetteredFailed).increment(by: count)
    }

    func record(_ backlog: WriteBehindBacklog) {
        for partition in backlog.partitions where partition.partition < lag.count {
            lag[partition.partition].record(partition.undelivered)
            pending[partition.partition].record(partition.pending)
        }
    }
}
