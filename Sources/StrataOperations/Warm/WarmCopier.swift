import Foundation
public import Logging
public import Redis
import NIOCore
import RESP

/// Copies keys from one Redis to another with `SCAN` + `DUMP`/`RESTORE`, preserving TTLs:
/// the engine of `strata warm copy`.
///
/// Each batch is one `SCAN` page (`MATCH`, `COUNT` = batch size), one pipeline of `PTTL` + `DUMP`
/// per key on the source, and one pipeline of `RESTORE key ttl payload [REPLACE]` on the target.
/// TTLs are read just before the payload and restored relative, so a key lives on the target for
/// what it had left plus the batch's transfer time. Keys that expired meanwhile are skipped;
/// keys that exist on the target are skipped (`BUSYKEY`) unless ``WarmCopyOptions/replace`` is set.
///
/// After every batch the state (cursor and counts) is saved to ``WarmCopyOptions/resumeFile``; a new run
/// with the same file continues from there. A Redis error that breaks a pipeline stops the
/// copy with the last completed batch saved. Source and target must not be Cluster nodes.
public struct WarmCopier<Source: RedisCommandExecutor, Target: RedisCommandExecutor>: Sendable {
    private let source: Source
    private let target: Target
    private let initialState: WarmCopyState
    private let options: WarmCopyOptions
    private let logger: Logger
    private let progress: @Sendable (WarmCopyProgress) -> Void

    /// Creates a copier.
    ///
    /// - Parameters:
    ///   - sourceName: names the source in the resume file, e.g. `10.0.0.1:6379/0`; a resume
    ///     file is only accepted for the same source, target and pattern.
    ///   - progress: called after every batch, from the copying task.
    public init(
        source: Source, sourceName: String, target: Target, targetName: String, options: WarmCopyOptions = WarmCopyOptions(),
        logger: Logger = Logger(label: "strata.warm"), progress: @escaping @Sendable (WarmCopyProgress) -> Void = { _ in }
    ) {
        self.source = source
        self.target = target
        self.initialState = WarmCopyState(source: sourceName, target: targetName, match: options.match)
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    /// Runs the copy until the keyspace is done or ``WarmCopyOptions/batchLimit`` batches ran.
    ///
    /// - Throws: ``WarmCopyError``: a mismatched or unreadable resume file, a Cluster node, or
    ///   a Redis error (the resume file then holds the last completed batch).
    public func run() async throws(WarmCopyError) -> WarmCopyReport {
        try await refuseCluster(source, role: "source")
        try await refuseCluster(target, role: "target")
        var state = try loadResumeState()
        let resumed = state.batches > 0
        let clock = ContinuousClock()
        let start = clock.now
        let pacer = Pacer(operationsPerSecond: options.rate)
        let scannedBefore = state.scanned
        var batchesThisRun = 0
        while !state.finished, batchesThisRun < (options.batchLimit ?? .max) {
            try await copyBatch(&state)
            batchesThisRun += 1
            try saveResumeState(state)
            let elapsed = clock.now - start
            progress(WarmCopyProgress(state: state, elapsed: elapsed, scannedThisRun: state.scanned - scannedBefore))
            let pause = pacer.delay(afterCompleting: state.scanned - scannedBefore, elapsed: elapsed)
            if pause > .zero, !state.finished {
                do { try await Task.sleep(for: pause) } catch { throw WarmCopyError(.redis, message: "cancelled", underlying: RedisError(.cancelled)) }
            }
        }
        return WarmCopyReport(state: state, elapsed: clock.now - start, resumed: resumed, batchesThisRun: batchesThisRun)
    }

    private func copyBatch(_ state: inout WarmCopyState) async throws(WarmCopyError) {
        do {
            let page = try await source.send(ScanKeys(cursor: state.cursor, match: options.match, count: options.batchSize))
            if !page.keys.isEmpty {
                var reads: [any RedisCommand] = []
                reads.reserveCapacity(page.keys.count * 2)
                for key in page.keys {
                    reads.append(KeyPTTL(key: key))
                    reads.append(KeyDump(key: key))
                }
                let replies = try await source.pipeline(reads)
                let restores = state.plan(keys: page.keys, replies: replies, replace: options.replace)
                if !restores.isEmpty { state.record(restoreResults: try await target.pipeline(restores.map { $0 as any RedisCommand })) }
            }
            state.completeBatch(nextCursor: page.cursor)
        } catch {
            logger.debug("warm copy batch failed", metadata: ["redis.error": "\(error)"])
            throw WarmCopyError(.redis, message: "a batch failed; the resume file holds the last completed batch", underlying: error)
        }
    }

    private func refuseCluster(_ executor: some RedisCommandExecutor, role: String) async throws(WarmCopyError) {
        let info: [String: String]
        do {
            info = try await executor.send(INFO("cluster"))
        } catch {
            throw WarmCopyError(.redis, message: "INFO on the \(role) failed", underlying: error)
        }
        if info["cluster_enabled"] == "1" {
            throw WarmCopyError(.clusterUnsupported, message: "the \(role) is a Cluster node; copy node by node from each primary is not supported yet")
        }
    }

    private func loadResumeState() throws(WarmCopyError) -> WarmCopyState {
        guard let path = options.resumeFile, FileManager.default.fileExists(atPath: path) else { return initialState }
        let saved: WarmCopyState
        do {
            saved = try JSONDecoder().decode(WarmCopyState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw WarmCopyError(.resumeFileUnreadable, message: "the resume file is not a warm copy state; remove it to start over")
        }
        guard saved.isSameCopy(as: initialState) else {
            throw WarmCopyError(.resumeFileMismatch, message: "the resume file belongs to another source, target or pattern")
        }
        logger.debug("resuming warm copy", metadata: ["warm.batches": "\(saved.batches)", "warm.scanned": "\(saved.scanned)"])
        return saved
    }

    private func saveResumeState(_ state: WarmCopyState) throws(WarmCopyError) {
        guard let path = options.resumeFile else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(state).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw WarmCopyError(.resumeFileUnwritable, message: "could not write the resume file")
        }
    }
}
