#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import Redis
public import StrataRedis
import Synchronization

/// A write-behind worker process for the crash proofs (`strata write-behind-worker`, hidden): it
/// applies a queue to a ``VersionedSQLiteSource`` file and can kill itself with SIGKILL at an
/// injected point, the way a crash would end it (no cleanup, no acknowledgement).
public struct WriteBehindProofWorker: Sendable {
    /// Where the process kills itself.
    public enum Crash: Sendable, Hashable {
        /// At the start of the `n`th apply (1-based), before the source write.
        case beforeApply(Int)
        /// After the `n`th apply committed to the source, before `apply` returns (so before `XACK`).
        case afterApply(Int)
    }

    /// What to run.
    public struct Options: Sendable {
        /// The Redis holding the queue.
        public var endpoint: RedisEndpoint
        /// The SQLite file of the source of truth.
        public var sqlitePath: String
        /// The queue's layout.
        public var streams: WriteBehindStreams
        /// The worker's settings (consumer name, claim idle time, deliveries).
        public var worker: WriteBehindWorker.Configuration
        /// Where to crash, if anywhere.
        public var crash: Crash?
        /// Return once the queue's backlog is empty (checked every 50 ms).
        public var exitWhenDrained: Bool
        /// Give up (throw) after this long.
        public var timeLimit: Duration

        /// Creates options.
        public init(
            endpoint: RedisEndpoint, sqlitePath: String, streams: WriteBehindStreams,
            worker: WriteBehindWorker.Configuration, crash: Crash?, exitWhenDrained: Bool, timeLimit: Duration
        ) {
            self.endpoint = endpoint
            self.sqlitePath = sqlitePath
            self.streams = streams
            self.worker = worker
            self.crash = crash
            self.exitWhenDrained = exitWhenDrained
            self.timeLimit = timeLimit
        }
    }

    /// The settings of this run.
    public let options: Options

    /// Creates the runner.
    public init(options: Options) {
        self.options = options
    }

    /// Runs the worker until the queue is drained (with ``Options/exitWhenDrained``), the time
    /// limit passes (throws), or the injected crash kills the process.
    ///
    /// - Returns: how many times `apply` ran.
    public func run() async throws -> Int {
        var logger = Logger(label: "strata.write-behind-worker")
        logger.logLevel = .error
        let client = try RedisClient(configuration: RedisConnectionConfiguration(endpoint: options.endpoint), logger: logger)
        let source = try VersionedSQLiteSource(path: options.sqlitePath)
        let applies = Atomic<Int>(0)
        let crash = options.crash
        let worker = try WriteBehindWorker(client: client, streams: options.streams, configuration: options.worker) { entry in
            let number = applies.add(1, ordering: .relaxed).newValue
            if crash == .beforeApply(number) { kill(getpid(), SIGKILL) }
            try source.apply(key: entry.key, payload: entry.payload, version: entry.version)
            if crash == .afterApply(number) { kill(getpid(), SIGKILL) }
        }
        let queue = try WriteBehindQueue(client: client, streams: options.streams)
        let options = self.options
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            group.addTask { try await worker.run() }
            defer {
                client.shutdown()
                group.cancelAll()
            }
            let clock = ContinuousClock()
            let deadline = clock.now + options.timeLimit
            while clock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                if options.exitWhenDrained, let backlog = try? await queue.backlog(), backlog.total == 0 { return }
            }
            throw DemoError("the write-behind worker did not drain the queue within the time limit")
        }
        return applies.load(ordering: .relaxed)
    }
}
