import ArgumentParser
import Redis
import StrataDemo
import StrataRedis

/// `strata write-behind-worker` (hidden): a write-behind worker in its own process, for the
/// crash proofs. It applies a queue to a SQLite file and can SIGKILL itself at an injected point.
struct WriteBehindWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-behind-worker",
        abstract: "Apply a write-behind queue to a versioned SQLite table (crash-proof test helper).",
        shouldDisplay: false
    )

    @Option(help: "The Redis holding the queue (redis://host:port).")
    var redis: String

    @Option(help: "The SQLite file of the source of truth (created if missing).")
    var sqlite: String

    @Option(help: "The queue's stream prefix.")
    var prefix = "strata:wb"

    @Option(help: "The queue's partition count.")
    var partitions = 4

    @Option(help: "The consumer group.")
    var group = "strata-writers"

    @Option(help: "This worker's consumer name (default: host, pid and a random suffix).")
    var consumer: String?

    @Option(help: "Milliseconds an entry must be idle before it is taken over.")
    var claimIdleMs = 60_000

    @Option(help: "Deliveries before an entry is dead-lettered.")
    var maximumDeliveries = 5

    @Option(help: "Entries applied at the same time.")
    var concurrency = 16

    @Option(help: "SIGKILL this process at the start of the Nth apply, before the source write.")
    var crashBeforeApply: Int?

    @Option(help: "SIGKILL this process after the Nth apply committed, before it is acknowledged.")
    var crashAfterApply: Int?

    @Flag(help: "Exit once the queue's backlog is empty.")
    var exitWhenDrained = false

    @Option(help: "Fail after this many seconds.")
    var timeLimitSeconds = 60

    func run() async throws {
        guard let endpoint = RedisConnectionConfiguration(url: redis)?.endpoint else {
            throw ValidationError("cannot parse the Redis URL (expected redis://host:port)")
        }
        let crash: WriteBehindProofWorker.Crash? =
            crashBeforeApply.map { .beforeApply($0) } ?? crashAfterApply.map { .afterApply($0) }
        let claimIdle = Duration.milliseconds(claimIdleMs)
        var worker = WriteBehindWorker.Configuration(
            maximumDeliveries: maximumDeliveries, retryDelay: min(.milliseconds(100), claimIdle / 4),
            maximumRetryDelay: claimIdle / 2, claimIdle: claimIdle, claimInterval: claimIdle / 2,
            blockTime: .milliseconds(200), maximumConcurrentApplies: concurrency)
        if let consumer { worker.consumerName = consumer }
        let options = WriteBehindProofWorker.Options(
            endpoint: endpoint, sqlitePath: sqlite,
            streams: try WriteBehindStreams(prefix: prefix, partitions: partitions, group: group),
            worker: worker, crash: crash, exitWhenDrained: exitWhenDrained, timeLimit: .seconds(timeLimitSeconds))
        let applies = try await WriteBehindProofWorker(options: options).run()
        print("applies: \(applies)")
    }
}
