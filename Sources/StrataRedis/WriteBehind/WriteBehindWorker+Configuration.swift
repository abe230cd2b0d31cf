#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
public import Metrics

extension WriteBehindWorker {
    /// Settings of one worker. The defaults suit a source of truth that answers in milliseconds.
    public struct Configuration: Sendable {
        /// This worker's consumer name in the group; unique among running workers. The default
        /// is the host name, the process id and a random suffix.
        public var consumerName: String
        /// An entry is applied at most this many times (deliveries, counted by Redis, include
        /// deliveries to workers that crashed); after the last failure it is dead-lettered.
        public var maximumDeliveries: Int
        /// The pause before a failed entry is delivered again; it doubles per delivery.
        public var retryDelay: Duration
        /// The longest pause between deliveries of a failing entry.
        public var maximumRetryDelay: Duration
        /// Entries pending this long for any consumer are taken over (`XAUTOCLAIM`). A live
        /// worker resets the idle time of everything it holds every third of this (including
        /// entries being applied), so this is how long a crashed worker's entries wait.
        public var claimIdle: Duration
        /// How often this worker looks for entries to take over.
        public var claimInterval: Duration
        /// At most this many new entries per partition per read.
        public var readCount: Int
        /// The longest a read waits for new entries; also bounds how long a graceful shutdown
        /// waits for the read in progress.
        public var blockTime: Duration
        /// Stop reading while this many delivered entries wait to be applied.
        public var maximumBuffered: Int
        /// Entries of distinct keys applied at the same time.
        public var maximumConcurrentApplies: Int
        /// How often the lag and pending gauges are read from Redis.
        public var metricsInterval: Duration
        /// The first part of every metric label.
        public var metricsPrefix: String
        /// Where metrics go (the bootstrapped global factory by default).
        public var metricsFactory: any MetricsFactory
        /// Where the worker logs failures (never keys or payloads).
        public var logger: Logger

        /// Creates a configuration.
        public init(
            consumerName: String = Configuration.defaultConsumerName(),
            maximumDeliveries: Int = 5,
            retryDelay: Duration = .milliseconds(500),
            maximumRetryDelay: Duration = .seconds(10),
            claimIdle: Duration = .seconds(60),
            claimInterval: Duration = .seconds(15),
            readCount: Int = 100,
            blockTime: Duration = .seconds(2),
            maximumBuffered: Int = 1_000,
            maximumConcurrentApplies: Int = 16,
            metricsInterval: Duration = .seconds(5),
            metricsPrefix: String = "strata.write_behind",
            metricsFactory: any MetricsFactory = MetricsSystem.factory,
            logger: Logger = Logger(label: "strata.write-behind")
        ) {
            self.consumerName = consumerName
            self.maximumDeliveries = maximumDeliveries
            self.retryDelay = retryDelay
            self.maximumRetryDelay = maximumRetryDelay
            self.claimIdle = claimIdle
            self.claimInterval = claimInterval
            self.readCount = readCount
            self.blockTime = blockTime
            self.maximumBuffered = maximumBuffered
            self.maximumConcurrentApplies = maximumConcurrentApplies
            self.metricsInterval = metricsInterval
            self.metricsPrefix = metricsPrefix
            self.metricsFactory = metricsFactory
            self.logger = logger
        }

        /// `<host>-<pid>-<random>`: unique per process, so two workers never share a pending list.
        public static func defaultConsumerName() -> String {
            var buffer = [CChar](repeating: 0, count: 256)
            let host = gethostname(&buffer, buffer.count) == 0
                ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "worker"
            return "\(host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        }

        /// Rejects incoherent settings.
        func validate() throws(WriteBehindError) {
            func require(_ condition: Bool, _ message: String) throws(WriteBehindError) {
                if !condition { throw WriteBehindError(.invalidConfiguration, message) }
            }
            try require(!consumerName.isEmpty && !consumerName.contains(" "), "consumerName must be non-empty, without spaces")
            try require(maximumDeliveries >= 1, "maximumDeliveries must be at least 1")
            try require(retryDelay >= .milliseconds(1), "retryDelay must be at least 1 ms")
            try require(maximumRetryDelay >= retryDelay, "maximumRetryDelay must not be below retryDelay")
            try require(claimIdle >= .milliseconds(30), "claimIdle must be at least 30 ms")
            try require(claimInterval >= .milliseconds(1), "claimInterval must be at least 1 ms")
            try require(readCount >= 1, "readCount must be at least 1")
            try require(blockTime >= .milliseconds(1), "blockTime must be at least 1 ms")
            try require(maximumBuffered >= 1, "maximumBuffered must be at least 1")
            try require(maximumConcurrentApplies >= 1, "maximumConcurrentApplies must be at least 1")
            try require(metricsInterval >= .milliseconds(1), "metricsInterval must be at least 1 ms")
        }

        func stateMachineConfiguration(partitions: Int) -> WriteBehindStateMachine.Configuration {
            WriteBehindStateMachine.Configuration(
                partitions: partitions, maximumDeliveries: maximumDeliveries, retryDelay: retryDelay,
                maximumRetryDelay: maximumRetryDelay, claimInterval: claimInterval, heartbeatInterval: claimIdle / 3,
                readCount: readCount,
                maximumBlock: blockTime, maximumBlockWhileApplying: min(blockTime, .milliseconds(50)),
                maximumBuffered: maximumBuffered,
                maximumConcurrentApplies: maximumConcurrentApplies, acknowledgeBatch: 256, acknowledgeDelay: .milliseconds(10),
                metricsInterval: metricsInterval, ioBackoff: .milliseconds(50), maximumIOBackoff: .seconds(2))
        }
    }
}
