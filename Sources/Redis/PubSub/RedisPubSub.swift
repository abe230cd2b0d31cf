import Logging
import NIOCore
import RESP
import Synchronization

/// The client's pub/sub side: one dedicated connection that carries every subscription of the
/// client, reconnects and resubscribes by itself, and tells subscribers about possible losses.
///
/// The connection is opened when the first subscriber arrives. Push frames are parsed on the
/// event loop and appended to each recipient's bounded buffer; nothing on that path waits for a
/// subscriber. After a loss, every subscriber that was live gets a ``RedisSubscriptionGap``
/// covering the time from the disconnect to the resubscribe.
final class RedisPubSub: Sendable {
    private struct Storage: ~Copyable {
        var machine = PubSubStateMachine()
        var buffers: [PubSubStateMachine.SubscriberID: SubscriptionBuffer] = [:]
        var confirmations: [PubSubStateMachine.SubscriberID: UnsafeContinuation<Void, any Error>] = [:]
        /// Why the server dropped a subscriber before its subscribe call started waiting; read
        /// (and removed) when it does, or by ``unsubscribe(_:)``.
        var refusals: [PubSubStateMachine.SubscriberID: RedisError] = [:]
        var connection: RedisConnection?
        var nextID: PubSubStateMachine.SubscriberID = 0
        var isShutDown = false
    }

    private let storage = Mutex(Storage())
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>
    private let configuration: @Sendable () -> RedisConnectionConfiguration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let metrics: RedisMetrics
    private let poolConfiguration: RedisPoolConfiguration
    private let keepAliveInterval: TimeAmount?
    /// When the last `pong` arrived on a RESP2 subscriber connection.
    private let lastPong = Mutex<NIODeadline>(.distantPast)
    /// Told when the connection is lost or cannot be made (a cluster client refreshes its map).
    private let lossHandler = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets the closure told about every lost connection and failed connect.
    func onConnectionLoss(_ handler: @escaping @Sendable () -> Void) {
        lossHandler.withLock { $0 = handler }
    }

    init(
        configuration: @escaping @Sendable () -> RedisConnectionConfiguration, eventLoop: any EventLoop,
        logger: Logger, metrics: RedisMetrics, pool: RedisPoolConfiguration
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.metrics = metrics
        self.poolConfiguration = pool
        self.keepAliveInterval = pool.keepAliveInterval
        (wakeupStream, wakeups) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Subscribing

    /// Registers a subscriber and waits until the server confirmed all its targets.
    func subscribe(
        _ targets: [RedisSubscriptionTarget], bufferLimit: Int, timeout: TimeAmount
    ) async throws(RedisError) -> (PubSubStateMachine.SubscriberID, SubscriptionBuffer) {
        let buffer = SubscriptionBuffer(limit: bufferLimit)
        let (id, action, connection) = try storage.withLock { storage throws(RedisError) in
            guard !storage.isShutDown else { throw RedisError(.shutdown) }
            storage.nextID += 1
            let id = storage.nextID
            storage.buffers[id] = buffer
            return (id, storage.machine.subscribe(id, to: targets), storage.connection)
        }
        switch action {
        case .ready:
            return (id, buffer)
        case .connect:
            wakeups.yield()
        case .send(let fresh):
            if let connection { send(subscribe: true, fresh, on: connection) }
        case .wait:
            break
        }
        do {
            try await waitForConfirmation(id, timeout: timeout)
        } catch {
            unsubscribe(id)
            throw (error as? RedisError) ?? RedisError(.cancelled)
        }
        return (id, buffer)
    }

    /// Removes a subscriber; unsubscribes targets nobody else listens to.
    func unsubscribe(_ id: PubSubStateMachine.SubscriberID) {
        let (orphaned, connection, buffer, waiter) = storage.withLock { storage in
            let orphaned = storage.machine.unsubscribe(id)
            storage.refusals[id] = nil
            return (orphaned, storage.connection, storage.buffers.removeValue(forKey: id), storage.confirmations.removeValue(forKey: id))
        }
        buffer?.finish()
        waiter?.resume(throwing: RedisError(.cancelled))
        if !orphaned.isEmpty, let connection { send(subscribe: false, orphaned, on: connection) }
    }

    private func waitForConfirmation(_ id: PubSubStateMachine.SubscriberID, timeout: TimeAmount) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                        // Not awaiting any more: confirmed, or dropped by the server (a refusal
                        // that arrived before this call started waiting).
                        let settled: Result<Void, RedisError>? = self.storage.withLock { storage in
                            if let refusal = storage.refusals.removeValue(forKey: id) { return .failure(refusal) }
                            if !storage.machine.isAwaiting(id) { return .success(()) }
                            storage.confirmations[id] = continuation
                            return nil
                        }
                        if let settled { continuation.resume(with: settled.mapError { $0 as any Error }) }
                    }
                } onCancel: {
                    let waiter = self.storage.withLock { $0.confirmations.removeValue(forKey: id) }
                    waiter?.resume(throwing: CancellationError())
                }
            }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                throw RedisError(.timeout, command: "SUBSCRIBE")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func send(subscribe: Bool, _ targets: [RedisSubscriptionTarget], on connection: RedisConnection) {
        let channels = targets.compactMap { if case .channel(let name) = $0 { name } else { nil } }
        let patterns = targets.compactMap { if case .pattern(let name) = $0 { name } else { nil } }
        let shards = targets.compactMap { if case .shardChannel(let name) = $0 { name } else { nil } }
        do throws(RedisError) {
            if connection.protocolVersion == .resp2 { connection.enterSubscriberMode() }
            try connection.sendWithoutReply { encoder in
                if !channels.isEmpty { encoder.encode(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", channels) }
                if !patterns.isEmpty { encoder.encode(subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE", patterns) }
                // One SSUBSCRIBE per channel: in a cluster each may live on another shard.
                for shard in shards { encoder.encode(subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE", shard) }
            }
        } catch {
            logger.debug("pub/sub command not sent; the connection is closing", metadata: ["redis.error": "\(error)"])
        }
    }

    // MARK: Push frames (on the event loop)

    private func received(_ token: RESPToken) {
        guard let frame = PubSubFrame(token) else { return }
        switch frame {
        case .message(let message):
            let recipients = storage.withLock { storage in
                storage.machine.recipients(channel: message.channel, pattern: message.pattern, sharded: message.isSharded)
                    .compactMap { storage.buffers[$0] }
            }
            let wakeups = recipients.compactMap { $0.append(.message(message)) }
            for wakeup in wakeups { wakeup.resume() }
        case .subscribed(let target):
            let (ready, gapOwed) = storage.withLock { storage in
                let (ids, gap) = storage.machine.confirmed(target)
                let ready = ids.map { id -> UnsafeContinuation<Void, any Error>? in
                    // A waiter not registered yet finds itself no longer awaiting and returns at once.
                    storage.confirmations.removeValue(forKey: id)
                }
                return (ready, Self.buffers(owed: gap, in: storage))
            }
            deliver(gapOwed)
            for waiter in ready { waiter?.resume() }
        case .pong:
            lastPong.withLock { $0 = .now() }
        case .unsubscribed(let target):
            evict(storage.withLock { $0.machine.unsubscribed(target) }, because: Self.slotMoved)
        case .refused(let error):
            guard let redirect = ClusterRedirect(error, askedNode: configuration().endpoint) else {
                logger.warning("pub/sub command refused", metadata: ["redis.error": "\(error)"])
                return
            }
            evict(storage.withLock { $0.machine.refused(slot: redirect.slot) }, because: error)
        case .other:
            break
        }
    }

    /// The buffers of the subscribers a settled loss is owed to, with the loss's start.
    private static func buffers(owed gap: PubSubStateMachine.Gap?, in storage: borrowing Storage) -> [(SubscriptionBuffer, ContinuousClock.Instant)] {
        gap.map { gap in gap.to.compactMap { id in storage.buffers[id].map { ($0, gap.from) } } } ?? []
    }

    /// Appends a `reconnected` gap ending now to each buffer, then wakes the readers.
    private func deliver(_ gaps: [(SubscriptionBuffer, ContinuousClock.Instant)]) {
        guard !gaps.isEmpty else { return }
        let now = ContinuousClock.now
        let wakeups = gaps.compactMap { buffer, from in
            buffer.append(.gap(RedisSubscriptionGap(reason: .reconnected, from: from, to: now)))
        }
        for wakeup in wakeups { wakeup.resume() }
    }

    /// Why a subscription ends when the server drops its shard channel.
    private static let slotMoved = RedisError(
        .moved, command: "SSUBSCRIBE", serverMessage: "the shard channel's slot moved to another node")

    /// Ends the evicted subscribers' sequences (and pending subscribe calls) with `error`, and
    /// unsubscribes what nobody else listens to.
    private func evict(_ eviction: PubSubStateMachine.Eviction?, because error: RedisError) {
        guard let eviction else { return }
        let (buffers, waiters, connection, gapOwed) = storage.withLock { storage in
            var waiters: [UnsafeContinuation<Void, any Error>] = []
            for id in eviction.subscribers {
                if let waiter = storage.confirmations.removeValue(forKey: id) {
                    waiters.append(waiter)
                } else if storage.buffers[id] != nil {
                    // Its subscribe call may not be waiting yet: it must fail, not see "confirmed".
                    storage.refusals[id] = error
                }
            }
            return (
                eviction.subscribers.compactMap { storage.buffers.removeValue(forKey: $0) },
                waiters,
                storage.connection,
                Self.buffers(owed: eviction.gap, in: storage)
            )
        }
        logger.info("shard channel subscription dropped by the server", metadata: ["redis.error": "\(error)"])
        for buffer in buffers { buffer.finish(throwing: error) }
        for waiter in waiters { waiter.resume(throwing: error) }
        deliver(gapOwed)
        if !eviction.orphaned.isEmpty, let connection { send(subscribe: false, eviction.orphaned, on: connection) }
    }

    // MARK: Running

    /// Keeps the pub/sub connection up while anyone subscribes. Returns after ``shutdown()``.
    func run() async {
        var failures = 0
        for await _ in wakeupStream {
            while storage.withLock({ !$0.isShutDown && $0.machine.wantsConnection }) {
                do throws(RedisError) {
                    let connection = try await RedisConnection.connect(
                        configuration: configuration(), eventLoop: eventLoop, logger: logger, metrics: metrics,
                        pushHandler: { [weak self] token in self?.received(token) }
                    )
                    failures = 0
                    connectionEstablished(connection)
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { try? await connection.closeFuture.get() }
                        group.addTask { await self.keepAlive(connection) }
                        await group.next()
                        group.cancelAll()
                    }
                    storage.withLock {
                        $0.connection = nil
                        $0.machine.disconnected(at: .now)
                    }
                    lossHandler.withLock { $0 }?()
                } catch {
                    failures += 1
                    storage.withLock { $0.machine.disconnected(at: .now) }
                    lossHandler.withLock { $0 }?()
                    logger.warning("pub/sub connect failed", metadata: ["redis.error": "\(error)"])
                    let delay = poolConfiguration.backoff(afterFailures: failures, jitter: .random(in: 0...1))
                    try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
                }
            }
            if storage.withLock({ $0.isShutDown }) { break }
        }
    }

    /// Pings the subscription connection while it is idle-looking: a peer that vanished without a
    /// reset would otherwise leave subscribers waiting forever for messages that cannot come.
    private func keepAlive(_ connection: RedisConnection) async {
        guard let interval = keepAliveInterval else { return }
        let timeout = connection.configuration.commandTimeout
        while !connection.isClosed {
            do {
                try await Task.sleep(for: .nanoseconds(interval.nanoseconds))
            } catch {
                return
            }
            if connection.protocolVersion == .resp3 {
                do throws(RedisError) {
                    _ = try await connection.send(PING(), timeout: timeout)
                } catch {
                    logger.info("pub/sub keep-alive PING failed; reconnecting", metadata: ["redis.error": "\(error)"])
                    connection.closeNow(error)
                    return
                }
            } else {
                // In RESP2 subscriber mode the answer is a `pong` frame, not a reply.
                let sentAt = NIODeadline.now()
                try? connection.sendWithoutReply { $0.encode("PING") }
                do {
                    try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                } catch {
                    return
                }
                if lastPong.withLock({ $0 }) < sentAt {
                    logger.info("pub/sub keep-alive pong missing; reconnecting")
                    connection.closeNow(RedisError(.timeout, command: "PING"))
                    return
                }
            }
        }
    }

    private func connectionEstablished(_ connection: RedisConnection) {
        let now = ContinuousClock.now
        let resubscribe = storage.withLock { storage -> [RedisSubscriptionTarget]? in
            if storage.isShutDown { return nil }
            storage.connection = connection
            return storage.machine.connected(at: now)
        }
        guard let resubscribe else {
            connection.closeNow(RedisError(.shutdown))
            return
        }
        if !resubscribe.isEmpty { send(subscribe: true, resubscribe, on: connection) }
    }

    /// Ends every subscription with `shutdown` and closes the connection.
    func shutdown() {
        let (buffers, waiters, connection) = storage.withLock { storage in
            storage.isShutDown = true
            let buffers = Array(storage.buffers.values)
            let waiters = Array(storage.confirmations.values)
            storage.confirmations = [:]
            return (buffers, waiters, storage.connection)
        }
        for buffer in buffers { buffer.finish(throwing: RedisError(.shutdown)) }
        for waiter in waiters { waiter.resume(throwing: RedisError(.shutdown)) }
        connection?.closeNow(RedisError(.shutdown))
        wakeups.finish()
    }
}

/// A pub/sub push frame, RESP3 push or RESP2 array.
enum PubSubFrame {
    case message(RedisPubSubMessage)
    case subscribed(RedisSubscriptionTarget)
    case unsubscribed(RedisSubscriptionTarget)
    /// An error reply to a subscription command (such as `MOVED` for a shard channel elsewhere).
    case refused(RedisError)
    case pong
    case other

    init?(_ token: RESPToken) {
        let parts: RESPToken.Array
        switch token.value {
        case .push(let elements), .array(let elements): parts = elements
        case .simpleError, .bulkError:
            guard let error = token.serverError(command: "SSUBSCRIBE") else { return nil }
            self = .refused(error)
            return
        case .simpleString(let text) where text.readableBytesView.elementsEqual("PONG".utf8):
            // A RESP2 connection with no subscription left answers PING normally.
            self = .pong
            return
        default: return nil
        }
        var iterator = parts.makeIterator()
        guard let kindToken = iterator.next(), let kind = try? String(fromRESP: kindToken) else { return nil }
        func text() -> String? { iterator.next().flatMap { try? String(fromRESP: $0) } }
        func bytes() -> ByteBuffer? { iterator.next().flatMap { try? ByteBuffer(fromRESP: $0) } }
        switch kind.lowercased() {
        case "message", "smessage":
            guard let channel = text(), let payload = bytes() else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload, isSharded: kind.lowercased() == "smessage"))
        case "pmessage":
            guard let pattern = text(), let channel = text(), let payload = bytes() else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload, isSharded: false))
        case "subscribe": self = text().map { .subscribed(.channel($0)) } ?? .other
        case "psubscribe": self = text().map { .subscribed(.pattern($0)) } ?? .other
        case "ssubscribe": self = text().map { .subscribed(.shardChannel($0)) } ?? .other
        case "pong": self = .pong
        case "unsubscribe": self = text().map { .unsubscribed(.channel($0)) } ?? .other
        case "punsubscribe": self = text().map { .unsubscribed(.pattern($0)) } ?? .other
        case "sunsubscribe": self = text().map { .unsubscribed(.shardChannel($0)) } ?? .other
        default: self = .other
        }
    }
}
