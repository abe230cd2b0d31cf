public import Metrics
import NIOCore
public import Redis
import RESP

/// The producer side of write-behind: queues writes to a source of truth on Redis Streams, for a
/// ``WriteBehindWorker`` to apply later.
///
/// ```swift
/// let streams = try WriteBehindStreams(prefix: "orders", partitions: 8)
/// let queue = try WriteBehindQueue(client: redis, streams: streams)
/// try await queue.enqueue(key: "order:42", payload: bytes, version: 7)
/// ```
///
/// Each key's writes go to one partition stream (``WriteBehindStreams/partition(forKey:)``), so
/// they are delivered in the order they were queued. Nothing is ever trimmed: an entry leaves
/// its stream only when a worker acknowledged it (or moved it to the dead letters).
///
/// When ``enqueue(key:payload:version:)`` returns, Redis has stored the entry. Whether that
/// survives a Redis crash is Redis's persistence setting: with `appendonly yes` and
/// `appendfsync always` every returned enqueue is on disk; with `everysec`, a crash can lose
/// about a second of them. A failover to a replica can lose writes it had not received yet.
///
/// Back-pressure: with a ``Configuration/highWaterMark``, an enqueue into a partition whose
/// stream holds that many entries (undelivered plus unacknowledged) is refused by the same
/// script that would add it, and then fails or waits (``Configuration/whenFull``).
///
/// Safe to use from any number of tasks. The client must be running.
public struct WriteBehindQueue: Sendable {
    /// What an enqueue does when its partition is at the high-water mark.
    public enum FullPolicy: Sendable, Hashable {
        /// Throw ``WriteBehindError`` `.backPressure` at once.
        case fail
        /// Try again (10 ms, doubling to 250 ms between attempts) for up to this long, then throw
        /// `.backPressure`. The waiting caller holds no connection.
        case wait(upTo: Duration)
    }

    /// Settings of a queue.
    public struct Configuration: Sendable {
        /// Refuse enqueues into a partition whose stream holds this many entries; nil: never.
        public var highWaterMark: Int?
        /// What a refused enqueue does.
        public var whenFull: FullPolicy
        /// The deadline of each Redis call (nil: the client's command timeout).
        public var operationTimeout: Duration?
        /// The first part of every metric label.
        public var metricsPrefix: String
        /// Where metrics go (the bootstrapped global factory by default).
        public var metricsFactory: any MetricsFactory

        /// Creates a configuration.
        public init(
            highWaterMark: Int? = 100_000, whenFull: FullPolicy = .fail, operationTimeout: Duration? = nil,
            metricsPrefix: String = "strata.write_behind", metricsFactory: any MetricsFactory = MetricsSystem.factory
        ) {
            self.highWaterMark = highWaterMark
            self.whenFull = whenFull
            self.operationTimeout = operationTimeout
            self.metricsPrefix = metricsPrefix
            self.metricsFactory = metricsFactory
        }

        func validate() throws(WriteBehindError) {
            if let highWaterMark, highWaterMark < 1 {
                throw WriteBehindError(.invalidConfiguration, "highWaterMark must be positive")
            }
            if case .wait(let limit) = whenFull, limit < .zero {
                throw WriteBehindError(.invalidConfiguration, "the back-pressure wait must not be negative")
            }
            if let operationTimeout, operationTimeout <= .zero {
                throw WriteBehindError(.invalidConfiguration, "operationTimeout must be positive")
            }
        }
    }

    /// The streams this queue writes to.
    public let streams: WriteBehindStreams
    /// The settings this queue was created with.
    public let configuration: Configuration
    let client: any RedisCommandExecutor
    let metrics: WriteBehindMetrics
    let timeout: TimeAmount?

    /// ARGV: high-water mark (0: none), key, version, payload. Nil when the stream is full.
    static let enqueueScript = RedisScript(
        """
        local limit = tonumber(ARGV[1])
        if limit > 0 and redis.call('XLEN', KEYS[1]) >= limit then return false end
        return redis.call('XADD', KEYS[1], '*', 'k', ARGV[2], 'v', ARGV[3], 'p', ARGV[4])
        """)

    /// Creates a queue on a standalone, Sentinel-managed or cluster client.
    ///
    /// - Throws: ``WriteBehindError`` `.invalidConfiguration` for incoherent settings.
    public init(
        client: some RedisCommandExecutor, streams: WriteBehindStreams, configuration: Configuration = Configuration()
    ) throws(WriteBehindError) {
        try configuration.validate()
        self.client = client
        self.streams = streams
        self.configuration = configuration
        self.metrics = WriteBehindMetrics(
            prefix: configuration.metricsPrefix, partitions: streams.partitions, factory: configuration.metricsFactory)
        self.timeout = configuration.operationTimeout.map { TimeAmount($0) }
    }

    /// Queues a write of `payload` as `version` of `key`, in `key`'s partition.
    ///
    /// Returns once Redis stored the entry. Give a key's writes increasing versions: the worker
    /// hands them to `apply` in queue order, and `apply` must ignore a version older than what
    /// the source of truth holds (redeliveries happen).
    ///
    /// - Returns: the entry's id and partition.
    /// - Throws: ``WriteBehindError`` `.backPressure` when the partition is full (after waiting,
    ///   with ``FullPolicy/wait(upTo:)``), nothing queued; `.redisUnavailable` when Redis failed,
    ///   and then the entry may or may not have been queued: retrying is safe (same version).
    /// - Complexity: one round trip (`EVALSHA`; more while waiting for room).
    @discardableResult
    public func enqueue(key: String, payload: [UInt8], version: Int64) async throws(WriteBehindError) -> WriteBehindReceipt {
        let partition = streams.partition(forKey: key)
        let arguments: [any RESPArgument & Sendable] = [
            configuration.highWaterMark ?? 0, key, String(version), ByteBuffer(bytes: payload),
        ]
        var delay = Duration.milliseconds(10)
        var waited = Duration.zero
        while true {
            let id: String?
            do {
                id = try await client.run(
                    Self.enqueueScript, keys: [streams.stream(partition: partition)], arguments: arguments, as: String?.self,
                    timeout: timeout)
            } catch {
                throw WriteBehindError(.redisUnavailable, "the write could not be queued", underlying: error)
            }
            if let id {
                metrics.enqueued.increment()
                return WriteBehindReceipt(id: id, partition: partition)
            }
            metrics.backPressure.increment()
            guard case .wait(let limit) = configuration.whenFull, waited < limit else {
                throw WriteBehindError(.backPressure, "the partition's backlog is at the high-water mark")
            }
            let pause = min(delay, limit - waited)
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw WriteBehindError(.backPressure, "cancelled while waiting for room in the partition")
            }
            waited += pause
            delay = min(delay * 2, .milliseconds(250))
        }
    }

    /// The backlog per partition: entries not yet applied, pending, and dead-lettered.
    ///
    /// - Throws: ``WriteBehindError`` `.redisUnavailable`.
    public func backlog() async throws(WriteBehindError) -> WriteBehindBacklog {
        do {
            return try await WriteBehindBacklog.read(from: client, streams: streams, timeout: timeout)
        } catch {
            throw WriteBehindError(.redisUnavailable, "the backlog could not be read", underlying: error)
        }
    }

    /// The oldest entries of a partition's dead-letter stream (at most `count`).
    ///
    /// To replay one after fixing its cause, ``enqueue(key:payload:version:)`` its key, payload
    /// and version again, then delete it from the dead-letter stream with `XDEL`.
    ///
    /// - Throws: ``WriteBehindError`` `.redisUnavailable`.
    public func deadLetters(partition: Int, count: Int = 100) async throws(WriteBehindError) -> [WriteBehindDeadLetter] {
        do {
            let entries = try await client.send(
                XRANGE(streams.deadLetterStream(partition: partition), count: count), timeout: timeout)
            return entries.map { WriteBehindDeadLetter($0, partition: partition) }
        } catch {
            throw WriteBehindError(.redisUnavailable, "the dead letters could not be read", underlying: error)
        }
    }
}

/// Where an enqueued write went.
public struct WriteBehindReceipt: Sendable, Hashable {
    /// The stream entry id Redis assigned.
    public var id: String
    /// The partition stream the write is in.
    public var partition: Int
}
