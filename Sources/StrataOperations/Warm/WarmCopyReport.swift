import Foundation
public import Logging
public import Redis

/// How ``WarmCopier`` copies.
public struct WarmCopyOptions: Sendable, Hashable {
    /// `SCAN ... MATCH pattern`; nil copies every key.
    public var match: String?
    /// The `SCAN` `COUNT` hint and pipeline size.
    public var batchSize: Int
    /// The highest rate, in scanned keys per second; nil for no limit.
    public var rate: Double?
    /// `RESTORE ... REPLACE`: overwrite keys that exist on the target.
    public var replace: Bool
    /// Where to save and resume progress; nil for no resume file.
    public var resumeFile: String?
    /// Stop after this many batches in this run (the resume file allows continuing); nil for no limit.
    public var batchLimit: Int?

    /// Creates options.
    public init(
        match: String? = nil, batchSize: Int = 500, rate: Double? = nil, replace: Bool = false, resumeFile: String? = nil,
        batchLimit: Int? = nil
    ) {
        self.match = match
        self.batchSize = max(1, batchSize)
        self.rate = rate
        self.replace = replace
        self.resumeFile = resumeFile
        self.batchLimit = batchLimit
    }
}

/// A ``WarmCopier`` progress report, sent after every batch.
public struct WarmCopyProgress: Sendable {
    /// The state after the batch.
    public var state: WarmCopyState
    /// Time since this run started.
    public var elapsed: Duration
    /// Keys scanned in this run.
    public var scannedThisRun: Int

    /// Scanned keys per second in this run.
    public var rate: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(scannedThisRun) / seconds : 0
    }

    /// One line for a terminal: counts (the total is unknown until `SCAN` ends), rate and time.
    public var line: String {
        var parts = ["copied \(state.copied) / scanned \(state.scanned)"]
        if state.skippedExisting > 0 { parts.append("\(state.skippedExisting) existing") }
        if state.skippedExpired > 0 { parts.append("\(state.skippedExpired) expired") }
        if state.failed > 0 { parts.append("\(state.failed) failed") }
        parts.append("\(Format.rate(rate)) keys/s")
        parts.append("batch \(state.batches)")
        return parts.joined(separator: " · ")
    }
}


/// The outcome of a ``WarmCopier`` run.
public struct WarmCopyReport: Sendable, Codable, Hashable {
    /// The final state (also in the resume file).
    public var state: WarmCopyState
    /// This run's duration.
    public var elapsedSeconds: Double
    /// Whether this run continued from a resume file.
    public var resumed: Bool
    /// Batches run in this run.
    public var batchesThisRun: Int

    /// Creates a report.
    public init(state: WarmCopyState, elapsed: Duration, resumed: Bool, batchesThisRun: Int) {
        self.state = state
        self.elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        self.resumed = resumed
        self.batchesThisRun = batchesThisRun
    }

    /// A summary for people.
    public func text() -> String {
        var lines = [
            state.finished ? "warm copy finished" : "warm copy stopped after \(state.batches) batches (not finished: run again with the same --resume-file)",
            "  from \(state.source) to \(state.target)" + (state.match.map { " matching \($0)" } ?? ""),
            "  scanned \(state.scanned) · copied \(state.copied) · existing (skipped) \(state.skippedExisting) · expired (skipped) \(state.skippedExpired) · failed \(state.failed)",
            "  \(batchesThisRun) batches in \(String(format: "%.1f", elapsedSeconds)) s" + (resumed ? " (resumed)" : ""),
        ]
        for (code, count) in state.failures.sorted(by: { $0.key < $1.key }) { lines.append("  failed with \(code): \(count)") }
        if state.skippedExisting > 0 { lines.append("  existing keys were left as they are; pass --replace to overwrite them") }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON with sorted keys.
    public func json() -> String {
        Format.json(self)
    }
}

/// Connects to two servers and runs a ``WarmCopier`` between them: the entry point of
/// `strata warm copy`.
public enum WarmCopy {
    /// Copies from `source` to `target` over one connection to each, closed afterwards.
    ///
    /// - Throws: ``WarmCopyError`` (`sameSourceAndTarget` when both name the same database,
    ///   `redis` when a server cannot be reached, or what ``WarmCopier/run()`` throws).
    public static func run(
        from source: RedisConnectionConfiguration, to target: RedisConnectionConfiguration, options: WarmCopyOptions,
        logger: Logger = Logger(label: "strata.warm"), progress: @escaping @Sendable (WarmCopyProgress) -> Void = { _ in }
    ) async throws(WarmCopyError) -> WarmCopyReport {
        let sourceName = "\(source.endpoint)/\(source.database)"
        let targetName = "\(target.endpoint)/\(target.database)"
        guard sourceName != targetName else {
            throw WarmCopyError(.sameSourceAndTarget, message: "source and target are the same database")
        }
        return try await connect(source, role: "source", logger: logger).closing { sourceConnection throws(WarmCopyError) in
            try await connect(target, role: "target", logger: logger).closing { targetConnection throws(WarmCopyError) in
                try await WarmCopier(
                    source: sourceConnection, sourceName: sourceName, target: targetConnection, targetName: targetName,
                    options: options, logger: logger, progress: progress
                ).run()
            }
        }
    }

    private static func connect(
        _ configuration: RedisConnectionConfiguration, role: String, logger: Logger
    ) async throws(WarmCopyError) -> RedisConnection {
        do {
            return try await RedisConnection.connect(configuration: configuration, logger: logger)
        } catch {
            throw WarmCopyError(.redis, message: "could not connect to the \(role)", underlying: error)
        }
    }
}
