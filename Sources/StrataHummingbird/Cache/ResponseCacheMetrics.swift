public import CoreMetrics

/// The response cache's swift-metrics instruments, created once.
///
/// Dimensions are small enums (outcome, reason, purger name), never a URL, key or tag.
/// - `<prefix>.responses{outcome}`: `hit`, `stale`, `miss`, `not_stored`, `bypass`, `refused`, `not_modified`.
/// - `<prefix>.not_stored{reason}`: why a handler's response was not stored.
/// - `<prefix>.refused{reason}`: requests refused before the handler (ambiguous paths, bodies).
/// - `<prefix>.invalidations{trigger}`, `<prefix>.invalidated_entries`: tag and unsafe-method invalidations.
/// - `<prefix>.purge.attempts{purger}`, `.purge.retries{purger}`, `.purge.failures{purger}`: edge purges;
///   a failure is counted once per purge that exhausted its attempts.
/// - `<prefix>.tag_index.failures`: the tag index could not be reached.
public struct ResponseCacheMetrics: Sendable {
    private let prefix: String
    private let factory: any MetricsFactory
    private let responses: [String: Counter]
    private let notStored: [String: Counter]
    private let refusals: [String: Counter]
    private let invalidations: [String: Counter]
    let invalidatedEntries: Counter
    let tagIndexFailures: Counter

    /// Creates the instruments under `prefix` from `factory` (the global one by default).
    public init(prefix: String = "strata.http", factory: any MetricsFactory = MetricsSystem.factory) {
        self.prefix = prefix
        self.factory = factory
        func counters(_ label: String, _ dimension: String, _ values: [String]) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: values.map {
                ($0, Counter(label: "\(prefix).\(label)", dimensions: [(dimension, $0)], factory: factory))
            })
        }
        responses = counters(
            "responses", "outcome", ["hit", "stale", "miss", "not_stored", "bypass", "refused", "not_modified"])
        notStored = counters("not_stored", "reason", [
            "no-store", "private", "no-cache", "credentials", "set-cookie", "status", "vary-star", "vary-undeclared",
            "body-too-large", "invalid-tag", "tag-index", "invalidated-while-loading", "origin-error",
        ])
        refusals = counters("refused", "reason", [
            "encoded-delimiter", "path-parameter", "dot-segment", "empty-segment", "backslash", "control-or-non-ascii",
            "not-absolute", "static-suffix-on-dynamic-route", "body-on-safe-method", "host-not-allowed",
        ])
        invalidations = counters("invalidations", "trigger", ["tags", "uri", "unsafe-method"])
        invalidatedEntries = Counter(label: "\(prefix).invalidated_entries", factory: factory)
        tagIndexFailures = Counter(label: "\(prefix).tag_index.failures", factory: factory)
    }

    func response(_ outcome: String) { responses[outcome]?.increment() }
    func notStored(_ reason: String) { notStored[reason]?.increment() }
    func refused(_ reason: String) { refusals[reason]?.increment() }
    func invalidation(_ trigger: String) { invalidations[trigger]?.increment() }

    /// Counters of one purger (created when the cache is built, one set per purger).
    struct PurgeCounters: Sendable {
        let attempts: Counter
        let retries: Counter
        let failures: Counter
    }

    func purgeCounters(for purger: String) -> PurgeCounters {
        PurgeCounters(
            attempts: Counter(label: "\(prefix).purge.attempts", dimensions: [("purger", purger)], factory: factory),
            retries: Counter(label: "\(prefix).purge.retries", dimensions: [("purger", purger)], factory: factory),
            failures: Counter(label: "\(prefix).purge.failures", dimensions: [("purger", purger)], factory: factory))
    }
}
