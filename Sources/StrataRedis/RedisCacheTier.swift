import NIOCore
public import Redis
import RESP
public import Strata

/// Strata's distributed tier on Redis: envelope bytes stored as plain string keys with a
/// millisecond TTL (`SET … PX`), read with `GET`/`MGET`, removed with `UNLINK`.
///
/// Works with a ``RedisClient`` (standalone or Sentinel) or a ``RedisClusterClient`` (commands
/// are routed by key; a batch read or removal is split by hash slot and sent concurrently).
///
/// Every call has its own deadline, ``Configuration/operationTimeout`` (default 250 ms), covering
/// the wait for a connection and the round trip, independent of the client's default command
/// timeout: a slow or unreachable Redis costs the cache at most that long per call. Failures are
/// thrown as ``RedisError`` (`timeout`, `connectionFailed`, `circuitOpen`, server errors …) and
/// never retried here; the cache decides whether to serve from its other tiers. The client must be
/// running (its `run()` in a task group or service group) for calls to complete.
public struct RedisCacheTier: DistributedCacheTier {
    /// Settings of the tier.
    public struct Configuration: Sendable, Hashable {
        /// The deadline of each call (default 250 ms).
        public var operationTimeout: Duration
        /// The channel on which filled leases wake waiting callers in every instance.
        public var fillChannel: String
        /// How long an invalidated version is remembered to refuse older fills (the watermark).
        public var watermarkLifetime: Duration
        /// The prefix of tag epoch keys: a tag's epoch lives at `{<prefix><tag>}`, its own hash
        /// slot. These keys have no expiry; see "Tags and clearing a namespace" on eviction policies.
        public var tagEpochKeyPrefix: String

        /// Creates a configuration.
        public init(
            operationTimeout: Duration = .milliseconds(250), fillChannel: String = "strata:fills",
            watermarkLifetime: Duration = .seconds(86_400), tagEpochKeyPrefix: String = "strata:tag:"
        ) {
            self.operationTimeout = operationTimeout
            self.fillChannel = fillChannel
            self.watermarkLifetime = watermarkLifetime
            self.tagEpochKeyPrefix = tagEpochKeyPrefix
        }

        /// Rejects a non-positive timeout.
        public func validate() throws(RedisError) {
            guard operationTimeout > .zero else {
                throw RedisError(.connectionFailed, serverMessage: "invalid configuration: operationTimeout must be positive")
            }
        }
    }

    enum Backend: Sendable {
        case standalone(RedisClient)
        case cluster(RedisClusterClient)
    }

    let backend: Backend
    let timeout: TimeAmount
    let fillWaiters = FillWaiters()
    /// Samples reads for `strata warm replay`; `nil` unless ``recordingReads(into:)`` set one.
    var readRecorder: ReadSampleRecorder?
    /// The settings this tier was created with.
    public let configuration: Configuration

    /// A tier on a standalone or Sentinel-managed Redis.
    ///
    /// - Throws: ``RedisError`` when the configuration is invalid.
    public init(client: RedisClient, configuration: Configuration = Configuration()) throws(RedisError) {
        try self.init(backend: .standalone(client), configuration: configuration)
    }

    /// A tier on a Redis Cluster.
    ///
    /// - Throws: ``RedisError`` when the configuration is invalid.
    public init(cluster: RedisClusterClient, configuration: Configuration = Configuration()) throws(RedisError) {
        try self.init(backend: .cluster(cluster), configuration: configuration)
    }

    private init(backend: Backend, configuration: Configuration) throws(RedisError) {
        try configuration.validate()
        self.backend = backend
        self.configuration = configuration
        let (seconds, attoseconds) = configuration.operationTimeout.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        timeout = nanoseconds.overflow ? .hours(24 * 365) : .nanoseconds(nanoseconds.partialValue + attoseconds / 1_000_000_000)
    }

    /// A copy of this tier that offers every key it reads to `recorder` (a sample of production
    /// reads to replay on staging with `strata warm replay`).
    public func recordingReads(into recorder: ReadSampleRecorder) -> RedisCacheTier {
        var copy = self
        copy.readRecorder = recorder
        return copy
    }

    /// `GET key`.
    public func get(_ key: String) async throws -> [UInt8]? {
        readRecorder?.offer(key)
        let reply: ByteBuffer? = switch backend {
        case .standalone(let client): try await client.send(GET(key), timeout: timeout)
        case .cluster(let cluster): try await cluster.get(key, timeout: timeout)
        }
        return reply.map { Array($0.readableBytesView) }
    }

    /// `MGET key…` (per hash slot on a cluster); one element per key, in order.
    public func get(_ keys: [String]) async throws -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        if let readRecorder { for key in keys { readRecorder.offer(key) } }
        let replies: [ByteBuffer?] = switch backend {
        case .standalone(let client): try await client.send(MGET(keys), timeout: timeout)
        case .cluster(let cluster): try await cluster.mget(keys, timeout: timeout)
        }
        guard replies.count == keys.count else {
            throw RedisError(.unexpectedReply, command: MGET.name, serverMessage: "MGET returned a wrong number of values")
        }
        return replies.map { $0.map { Array($0.readableBytesView) } }
    }

    /// `SET key value PX ms`; a time to live of zero or less removes the key instead (Redis
    /// refuses a non-positive expiry, and the entry would be expired anyway). Sub-millisecond
    /// remainders round up, so a value never expires earlier than asked.
    public func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws {
        guard timeToLive > .zero else {
            try await remove([key])
            return
        }
        let command = SET(key, BulkBytes(value), expiration: .milliseconds(Self.milliseconds(roundingUp: timeToLive)))
        switch backend {
        case .standalone(let client): _ = try await client.send(command, timeout: timeout)
        case .cluster(let cluster): _ = try await cluster.send(command, key: key, timeout: timeout)
        }
    }

    /// `UNLINK key…` (per hash slot on a cluster, concurrently); missing keys are ignored.
    public func remove(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        switch backend {
        case .standalone(let client):
            _ = try await client.send(UNLINK(keys), timeout: timeout)
        case .cluster(let cluster):
            try await Self.unlink(keys, on: cluster, timeout: timeout)
        }
    }

    /// Cluster `UNLINK`: a multi-key command must stay within one hash slot.
    private static func unlink(_ keys: [String], on cluster: RedisClusterClient, timeout: TimeAmount) async throws {
        let groups = Dictionary(grouping: keys, by: { HashSlot(key: $0) })
        if groups.count == 1, let only = groups.first {
            _ = try await cluster.send(UNLINK(only.value), slot: only.key, timeout: timeout)
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (slot, group) in groups {
                tasks.addTask { _ = try await cluster.send(UNLINK(group), slot: slot, timeout: timeout) }
            }
            try await tasks.waitForAll()
        }
    }

    /// Whole milliseconds, rounded up, at least 1 (callers pass positive durations).
    static func milliseconds(roundingUp duration: Duration) -> Int {
        let whole = duration.cacheMilliseconds
        let hasRemainder = duration.components.attoseconds % 1_000_000_000_000_000 != 0
        return Int(clamping: max(hasRemainder && whole < .max ? whole + 1 : whole, 1))
    }
}

/// A `[UInt8]` written as one RESP bulk string.
struct BulkBytes: RESPArgument, Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var respArgumentCount: Int { 1 }
    func encode(into encoder: inout RESPCommandEncoder) { encoder.writeBulk(bytes) }
}
