import ArgumentParser
import Synchronization
import Foundation
import Redis
import StrataOperations

/// `strata warm`: fill a cache before it takes traffic.
struct WarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warm",
        abstract: "Warm a Redis cache before it takes traffic.",
        subcommands: [WarmCopyCommand.self, WarmReplayCommand.self]
    )
}

/// `strata warm copy`: SCAN + DUMP/RESTORE from one Redis to another.
struct WarmCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy keys from one Redis to another with their TTLs (SCAN + DUMP/RESTORE), throttled and resumable.",
        discussion: """
            Each batch is one SCAN page; its keys are read with PTTL + DUMP in one pipeline on the source and \
            written with RESTORE key ttl payload in one pipeline on the target, so TTLs carry over. Keys that \
            expire meanwhile are skipped; keys that already exist on the target are skipped (BUSYKEY) unless \
            --replace is given. With --resume-file, the SCAN cursor and counts are saved after every batch and \
            a new run continues from there. Progress goes to stderr, the summary to stdout.

            Source and target must be standalone nodes or primaries (a Sentinel-managed primary by its \
            address); Cluster is not supported yet. DUMP payloads are version-specific: the target must run the same or a newer Redis.

            Example:
              strata warm copy --from redis://old-cache:6379 --to redis://new-cache:6379 \\
                --match 'session:*' --batch 500 --rate 20000 --resume-file /tmp/warm.json
            """
    )

    @Option(help: "The source: redis://[user:password@]host:port[/db].")
    var from: String

    @Option(help: "The target: redis://[user:password@]host:port[/db].")
    var to: String

    @Option(help: "Only keys matching this glob pattern (SCAN MATCH).")
    var match: String?

    @Option(help: "Keys per batch (SCAN COUNT and pipeline size).")
    var batch = 500

    @Option(help: "Highest rate, in scanned keys per second (default: unthrottled).")
    var rate: Double?

    @Option(help: "Save progress here after every batch, and resume from it when it exists.")
    var resumeFile: String?

    @Flag(help: "Overwrite keys that already exist on the target.")
    var replace = false

    @Option(help: "Stop after this many batches (resume later with --resume-file).")
    var maxBatches: Int?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        guard let source = RedisConnectionConfiguration(url: from) else { throw ValidationError("--from must look like redis://host:port") }
        guard let target = RedisConnectionConfiguration(url: to) else { throw ValidationError("--to must look like redis://host:port") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        let options = WarmCopyOptions(
            match: match, batchSize: batch, rate: rate, replace: replace, resumeFile: resumeFile, batchLimit: maxBatches
        )
        let progress = ProgressLine()
        let report = try await WarmCopy.run(from: source, to: target, options: options) { progress.show($0.line) }
        progress.finish()
        print(json ? report.json() : report.text())
    }
}

/// `strata warm replay`: replay a recorded sample of production reads against a staging Redis.
struct WarmReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded sample of reads (namespace key lines) as GETs against a Redis and report its hit ratio and latency.",
        discussion: """
            The sample comes from a ReadSampleRecorder attached to production's RedisCacheTier \
            (tier.recordingReads(into: recorder)): one 'namespace key' line per sampled read. Each line becomes one \
            GET on the target, --concurrency at a time over one pipelined connection, at most --rate per second. \
            The report gives the hit ratio (overall and per namespace), the number of distinct missing keys and \
            GET latency p50/p99. Progress goes to stderr, the report to stdout. Replay after warming a staging \
            cache (for example with 'strata warm copy') to see how warm it is.

            Example:
              strata warm replay --sample /var/tmp/reads.sample --redis redis://staging-cache:6379 --rate 5000 --concurrency 16
            """
    )

    @Option(help: "The sample file: 'namespace key' lines.")
    var sample: String

    @Option(help: "The target: redis://[user:password@]host:port[/db].")
    var redis: String

    @Option(help: "Highest rate, in reads per second (default: unthrottled).")
    var rate: Double?

    @Option(help: "Reads in flight at once.")
    var concurrency = 8

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        guard let target = RedisConnectionConfiguration(url: redis) else { throw ValidationError("--redis must look like redis://host:port") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        let progress = ProgressLine()
        let report = try await WarmReplay.run(
            sampleFile: sample, target: target, options: WarmReplayOptions(rate: rate, concurrency: concurrency)
        ) { progress.show($0.line) }
        progress.finish()
        print(json ? report.json() : report.text())
    }
}

/// Progress on stderr: rewritten in place on a terminal, at most one line per second otherwise.
final class ProgressLine: Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let lastPrinted = Mutex<ContinuousClock.Instant?>(nil)

    func show(_ line: String) {
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            return
        }
        let now = ContinuousClock.now
        let due = lastPrinted.withLock { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        if due { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
