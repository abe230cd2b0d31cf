import Foundation

/// How ``WarmReplayer`` replays.
public struct WarmReplayOptions: Sendable, Hashable {
    /// The highest rate, in reads per second; nil for no limit.
    public var rate: Double?
    /// Reads in flight at once (default 8).
    public var concurrency: Int

    /// Creates options; a concurrency below 1 is raised to 1.
    public init(rate: Double? = nil, concurrency: Int = 8) {
        self.rate = rate
        self.concurrency = max(1, concurrency)
    }
}

/// A ``WarmReplayer`` progress report.
public struct WarmReplayProgress: Sendable, Hashable {
    /// Reads answered so far.
    public var completed: Int
    /// Reads in the sample.
    public var total: Int
    /// Of those answered, how many found their key.
    public var hits: Int

    /// One line for a terminal.
    public var line: String {
        let share = total > 0 ? Double(completed) / Double(total) : 1
        let hitShare = completed > 0 ? Double(hits) / Double(completed) : 0
        return "replayed \(completed) / \(total) (\(Format.percent(share))) · hit \(Format.percent(hitShare))"
    }
}

/// The outcome of a ``WarmReplayer`` run.
public struct WarmReplayReport: Sendable, Codable, Hashable {
    /// Counts of one namespace.
    public struct NamespaceCounts: Sendable, Codable, Hashable {
        /// Reads replayed.
        public var reads: Int
        /// Reads that found their key.
        public var hits: Int

        /// Creates counts.
        public init(reads: Int, hits: Int) {
            self.reads = reads
            self.hits = hits
        }
    }

    /// Reads replayed (errors included).
    public var reads: Int
    /// Reads that found their key.
    public var hits: Int
    /// Reads whose key was absent.
    public var misses: Int
    /// Reads that failed (error reply, timeout).
    public var errors: Int
    /// Distinct keys that were absent at least once.
    public var missingKeys: Int
    /// Hits over answered reads; nil without any.
    public var hitRatio: Double?
    /// Median GET latency, milliseconds.
    public var latencyP50Milliseconds: Double?
    /// 99th percentile GET latency, milliseconds.
    public var latencyP99Milliseconds: Double?
    /// Wall time of the replay.
    public var elapsedSeconds: Double
    /// Sample lines that could not be parsed.
    public var malformedLines: Int
    /// Reads and hits per namespace.
    public var namespaces: [String: NamespaceCounts]

    /// A summary for people.
    public func text() -> String {
        func milliseconds(_ value: Double?) -> String { value.map { String(format: "%.3f ms", $0) } ?? "-" }
        var lines = [
            "warm replay: \(reads) reads in \(String(format: "%.1f", elapsedSeconds)) s",
            "  hit ratio \(hitRatio.map(Format.percent) ?? "-") · hits \(hits) · misses \(misses) · errors \(errors)",
            "  missing keys (distinct) \(missingKeys)",
            "  GET latency p50 \(milliseconds(latencyP50Milliseconds)) · p99 \(milliseconds(latencyP99Milliseconds))",
        ]
        for (namespace, counts) in namespaces.sorted(by: { $0.key < $1.key }) {
            let ratio = counts.reads > 0 ? Format.percent(Double(counts.hits) / Double(counts.reads)) : "-"
            lines.append("  \(namespace): \(counts.reads) reads, hit \(ratio)")
        }
        if malformedLines > 0 { lines.append("  \(malformedLines) sample lines were not 'namespace key' and were skipped") }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON with sorted keys.
    public func json() -> String {
        Format.json(self)
    }
}
