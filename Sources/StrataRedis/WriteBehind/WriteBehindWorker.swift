import Logging
public import Redis
public import ServiceLifecycle
import Synchronization

/// The consumer side of write-behind: applies queued writes to the source of truth and
/// acknowledges each one only after `apply` returned (at-least-once delivery).
///
/// ```swift
/// let worker = try WriteBehindWorker(client: redis, streams: streams) { entry in
///     // UPDATE orders SET body = ?, version = ? WHERE id = ? AND version < ?
///     try await database.upsert(entry.key, entry.payload, ifOlderThan: entry.version)
/// }
/// let group = ServiceGroup(services: [redis, worker], logger: logger)
/// ```
///
/// Run one or more workers as swift-service-lifecycle services; they share the consumer group
/// of ``WriteBehindStreams/group``, each under its own ``Configuration/consumerName``.
///
/// - **Delivery**: each worker reads every partition with one blocking `XREADGROUP` (bounded by
///   ``Configuration/blockTime``). An entry is acknowledged (`XACK`, then `XDEL`, in one script)
///   only after `apply` returned, so a crash between the source write and the acknowledgement
///   means the entry is delivered again: `apply` must ignore versions that are not newer than
///   the source's (see <doc:WriteBehind>).
/// - **Order**: a key's entries are applied one at a time in queue order; entries of different
///   keys run concurrently (up to ``Configuration/maximumConcurrentApplies``), and a slow apply
///   holds back only its own key. Two workers can hold entries of the same partition, so across
///   workers only the version guard orders effects.
/// - **Failures**: a failed entry holds back its own key only. It is delivered again after
///   ``Configuration/retryDelay`` (doubling), and after ``Configuration/maximumDeliveries``
///   deliveries it is moved to the partition's dead-letter stream and acknowledged.
/// - **Crashed workers**: a live worker resets the idle time of every entry it holds every
///   third of ``Configuration/claimIdle`` (a heartbeat that counts no delivery); entries idle
///   for `claimIdle` therefore belong to a worker that stopped, and are taken over with
///   `XAUTOCLAIM`. Redis's delivery count includes the deliveries to the crashed worker.
/// - **Redis down or restarting**: reads, claims and acknowledgements pause with a doubling
///   backoff (up to 2 s) and resume; completed applies are acknowledged when Redis is back.
/// - **Shutdown**: on graceful shutdown the worker stops reading, applies what it already holds,
///   acknowledges, and returns (within about ``Configuration/blockTime`` plus those applies).
///   On cancellation it stops at once; what it held is taken over by another worker later.
public final class WriteBehindWorker: Service, Sendable {
    /// Writes one entry to the source of truth. Must be idempotent by version: apply only when
    /// the stored version of `entry.key` is older than `entry.version`, and return normally
    /// (not throw) when it is not. Throwing means "try again later". Should honour task
    /// cancellation: a cancelled worker's ``run()`` waits for its running applies.
    public typealias Apply = @Sendable (WriteBehindEntry) async throws -> Void

    /// The streams this worker consumes.
    public let streams: WriteBehindStreams
    /// The settings this worker was created with.
    public let configuration: Configuration
    let client: RedisClient
    let apply: Apply
    let metrics: WriteBehindMetrics
    private let gracefulShutdown = Atomic<Bool>(false)

    /// Creates a worker; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - client: a running standalone or Sentinel client (blocking reads take a connection of
    ///     their own, outside its pool).
    ///   - streams: the queue's layout, the same as the producers'.
    ///   - configuration: delivery, retry and claim settings.
    ///   - apply: writes an entry to the source of truth (see ``Apply``).
    /// - Throws: ``WriteBehindError`` `.invalidConfiguration` for incoherent settings.
    public init(
        client: RedisClient, streams: WriteBehindStreams, configuration: Configuration = Configuration(),
        apply: @escaping Apply
    ) throws(WriteBehindError) {
        try configuration.validate()
        self.client = client
        self.streams = streams
        self.configuration = configuration
        self.apply = apply
        self.metrics = WriteBehindMetrics(
            prefix: configuration.metricsPrefix, partitions: streams.partitions, factory: configuration.metricsFactory)
    }

    /// Consumes the queue until cancelled, or until a graceful shutdown has flushed what the
    /// worker holds. Never throws for Redis or `apply` failures: it logs, backs off and retries.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.withBlockingReader(margin: .seconds(2)) { reader in
                // Applies run as children of this group, so the loop never waits for a slow one.
                await withDiscardingTaskGroup { applies in
                    await self.consume(reader, applies: &applies)
                    applies.cancelAll()
                }
            }
        } onGracefulShutdown: {
            self.gracefulShutdown.store(true, ordering: .relaxed)
        }
    }

    private func consume(_ reader: RedisBlockingReader, applies: inout DiscardingTaskGroup) async {
        let clock = ContinuousClock()
        let start = clock.now
        let mailbox = ApplyMailbox()
        var machine = WriteBehindStateMachine(configuration: configuration.stateMachineConfiguration(partitions: streams.partitions))
        var shutdownSeen = false
        while !Task.isCancelled {
            if !shutdownSeen, gracefulShutdown.load(ordering: .relaxed) {
                shutdownSeen = true
                machine.shutdownRequested()
            }
            let completed = mailbox.take()
            if !completed.isEmpty { machine.applied(completed, now: clock.now - start) }
            let action = machine.next(now: clock.now - start)
            switch action {
            case .createGroups:
                do {
                    try await createGroups()
                    machine.groupsCreated()
                } catch {
                    failed(error, doing: "create the consumer groups", machine: &machine, now: clock.now - start)
                }
            case .read(let count, let block):
                do {
                    machine.read(try await read(reader, count: count, block: block))
                } catch {
                    failed(error, doing: "read", machine: &machine, now: clock.now - start)
                }
            case .claimAbandoned(let partition, let from):
                do {
                    let (deliveries, nextStart) = try await claimAbandoned(partition: partition, from: from)
                    metrics.reclaimed.increment(by: deliveries.count)
                    machine.claimed(partition: partition, deliveries, nextStart: nextStart)
                } catch {
                    failed(error, doing: "claim idle entries", machine: &machine, now: clock.now - start)
                }
            case .redeliver(let partition, let ids):
                do {
                    let returned = try await claimOwn(partition: partition, ids: ids, countingDelivery: true)
                    metrics.retries.increment(by: returned.count)
                    machine.redelivered(partition: partition, requested: ids, returned: returned)
                } catch {
                    log(error, doing: "redeliver failed entries")
                    machine.redeliverFailed(partition: partition, requested: ids, now: clock.now - start)
                }
            case .heartbeat(let partition, let ids):
                do {
                    let owned = try await claimOwn(partition: partition, ids: ids, countingDelivery: false)
                    machine.heartbeatCompleted(partition: partition, requested: ids, owned: owned)
                } catch {
                    failed(error, doing: "refresh held entries", machine: &machine, now: clock.now - start)
                }
            case .apply(let entries):
                for entry in entries {
                    applies.addTask { mailbox.post(await self.applyOne(entry)) }
                }
            case .acknowledge(let partition, let ids):
                do {
                    try await acknowledge(partition: partition, ids: ids)
                    metrics.applied.increment(by: ids.count)
                    machine.ioSucceeded()
                } catch {
                    log(error, doing: "acknowledge")
                    machine.acknowledgeFailed(partition: partition, ids: ids, now: clock.now - start)
                }
            case .deadLetter(let partition, let letters):
                var remaining = letters[...]
                do {
                    while let letter = remaining.first {
                        try await deadLetter(letter, partition: partition)
                        remaining.removeFirst()
                    }
                    machine.ioSucceeded()
                } catch {
                    log(error, doing: "move entries to the dead letters")
                    machine.deadLetterFailed(partition: partition, remaining: Array(remaining), now: clock.now - start)
                }
            case .sampleBacklog:
                do {
                    metrics.record(try await WriteBehindBacklog.read(from: client, streams: streams, timeout: nil))
                    machine.ioSucceeded()
                } catch {
                    failed(error, doing: "read the backlog", machine: &machine, now: clock.now - start)
                }
            case .wait(let duration):
                await mailbox.wait(upTo: duration)
            case .finish:
                return
            }
        }
    }

    private func failed(_ error: any Error, doing what: String, machine: inout WriteBehindStateMachine, now: Duration) {
        if Task.isCancelled { return }
        log(error, doing: what)
        if let redisError = error as? RedisError, redisError.serverCode == "NOGROUP" {
            machine.groupMissing(now: now)
        } else {
            machine.ioFailed(now: now)
        }
    }

    private func log(_ error: any Error, doing what: String) {
        guard !Task.isCancelled else { return }
        configuration.logger.warning(
            "write-behind worker could not \(what); retrying", metadata: ["error": "\(error)"])
    }

    private func applyOne(_ entry: WriteBehindEntry) async -> WriteBehindStateMachine.ApplyResult {
        do {
            try await apply(entry)
            return .init(id: entry.id, key: entry.key, succeeded: true)
        } catch {
            metrics.applyFailures.increment()
            configuration.logger.warning(
                "write-behind apply failed",
                metadata: [
                    "partition": "\(entry.partition)", "entry": "\(entry.id)", "delivery": "\(entry.deliveryCount)",
                    "error": "\(error)",
                ])
            return .init(id: entry.id, key: entry.key, succeeded: false)
        }
    }
}
