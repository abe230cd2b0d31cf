public import RESP

// Pub/sub on a cluster. Each shard channel lives on the primary serving its slot, so a
// subscription is split into groups (shard channels by slot; channels and patterns, which the
// cluster broadcasts everywhere, as one group on any primary), and each group is followed by a
// task that subscribes through that node's RedisClient (its RedisPubSub machinery: one
// connection per node, reconnects, gaps, bounded buffers) and forwards events into the caller's
// one buffer. When the node drops the subscription — `sunsubscribe` after its slot moved, a
// `MOVED` refusal, or the node client retired after a failover — the follower asks for a map
// refresh, subscribes at the new owner (straight to the node a `MOVED` named), and delivers a
// gap covering the move. The followers are children of the caller's task group: they end with
// the subscription.

extension RedisClusterClient {
    /// Subscribes to channels, patterns or shard channels for the duration of `body`, each at
    /// the node that serves it.
    ///
    /// Shard channels (`SSUBSCRIBE`) are subscribed at the primary serving the channel's hash
    /// slot; channels and patterns, which the cluster delivers on every node, at one primary.
    /// Returns once every target is confirmed, so anything published after this call starts is
    /// delivered. The subscription survives resharding and failover: when a node stops serving
    /// a shard channel (its slot moved, or the node was replaced), the client re-reads the map,
    /// subscribes at the new owner and delivers a ``RedisSubscriptionEvent/gap(_:)`` with reason
    /// `reconnected`, since messages published meanwhile may be lost. Gaps of each node's own
    /// reconnects and buffer overflows come through too.
    ///
    /// - Parameter bufferLimit: the most events buffered for `body` (see
    ///   ``RedisClient/subscribe(_:bufferLimit:_:)``).
    /// - Throws: `timeout` if the targets were not all confirmed within the connect plus command
    ///   timeouts (its `underlying` error says why, when known), `shutdown` once the client shuts
    ///   down (also from the sequence), or whatever `body` throws.
    public func subscribe<Result: Sendable>(
        _ targets: [RedisSubscriptionTarget],
        bufferLimit: Int = 1024,
        _ body: (RedisSubscription) async throws -> Result
    ) async throws -> Result {
        let groups = Self.subscriptionGroups(targets)
        let buffer = SubscriptionBuffer(limit: bufferLimit)
        let (progress, progressSink) = AsyncStream.makeStream(of: FollowerProgress.self)
        let timeout = configuration.connectTimeout + configuration.commandTimeout
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for (slot, members) in groups {
                group.addTask {
                    await self.follow(members, slot: slot, bufferLimit: bufferLimit, into: buffer, progress: progressSink)
                }
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                progressSink.yield(.timedOut)
            }
            var ready = 0
            var lastError: RedisError?
            for await event in progress {
                switch event {
                case .ready: ready += 1
                case .failed(let error): lastError = error
                case .timedOut: break
                }
                if ready == groups.count || event == .timedOut { break }
            }
            defer {
                group.cancelAll()
                buffer.finish()
            }
            guard ready == groups.count else {
                throw RedisError(.timeout, command: "SUBSCRIBE", underlying: lastError)
            }
            return try await body(RedisSubscription(buffer: buffer, targets: targets))
        }
    }

    /// `PUBLISH channel message` on any primary (the cluster forwards it to every node): how
    /// many subscribers of the receiving node got it.
    @discardableResult
    public func publish(_ message: some RESPArgument & Sendable, to channel: String) async throws(RedisError) -> Int {
        try await send(PUBLISH(channel, message), timeout: nil)
    }

    /// `SPUBLISH shardchannel message` on the primary serving the channel's slot: how many
    /// subscribers received it.
    @discardableResult
    public func publish(_ message: some RESPArgument & Sendable, toShardChannel channel: String) async throws(RedisError) -> Int {
        try await send(SPUBLISH(channel, message), timeout: nil)
    }

    enum FollowerProgress: Sendable, Equatable {
        /// A group's targets were confirmed for the first time.
        case ready
        /// A group's subscribe failed before it was ever confirmed (the last reason wins).
        case failed(RedisError)
        /// The confirmation deadline passed.
        case timedOut

        static func == (lhs: FollowerProgress, rhs: FollowerProgress) -> Bool {
            switch (lhs, rhs) {
            case (.ready, .ready), (.timedOut, .timedOut), (.failed, .failed): true
            default: false
            }
        }
    }

    /// Shard channels grouped by slot; channels and patterns as one group without a slot.
    static func subscriptionGroups(_ targets: [RedisSubscriptionTarget]) -> [HashSlot?: [RedisSubscriptionTarget]] {
        var groups: [HashSlot?: [RedisSubscriptionTarget]] = [:]
        for target in Set(targets) {
            if case .shardChannel(let name) = target {
                groups[HashSlot(key: name), default: []].append(target)
            } else {
                groups[nil, default: []].append(target)
            }
        }
        return groups
    }

    /// Keeps `targets` subscribed at the node serving `slot` (any primary for nil), forwarding
    /// events into `buffer`, until cancelled or the client shuts down.
    private func follow(
        _ targets: [RedisSubscriptionTarget], slot: HashSlot?, bufferLimit: Int, into buffer: SubscriptionBuffer,
        progress: AsyncStream<FollowerProgress>.Continuation
    ) async {
        var redirect: RedisEndpoint?
        var announced = false
        var lossStart: ContinuousClock.Instant?
        var failures = 0
        while !Task.isCancelled {
            let node: RedisClient
            do throws(RedisError) {
                let chosen = if let redirect { try client(for: redirect) } else { try route(slot) }
                guard let chosen else {
                    requestRefresh()
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                node = chosen
            } catch {
                buffer.finish(throwing: error)
                return
            }
            redirect = nil
            do {
                try await node.subscribe(targets, bufferLimit: bufferLimit) { subscription in
                    failures = 0
                    if !announced {
                        announced = true
                        progress.yield(.ready)
                    } else if let from = lossStart {
                        buffer.append(.gap(RedisSubscriptionGap(reason: .reconnected, from: from, to: .now)))?.resume()
                    }
                    lossStart = nil
                    for try await event in subscription { buffer.append(event)?.resume() }
                }
            } catch {
                if Task.isCancelled { return }
                if state.withLock({ $0.isShutDown }) {
                    buffer.finish(throwing: RedisError(.shutdown))
                    return
                }
                let reason = (error as? RedisError) ?? RedisError(.cancelled)
                if !announced { progress.yield(.failed(reason)) }
                if announced, lossStart == nil { lossStart = .now }
                if let moved = ClusterRedirect(reason, askedNode: node.configuration.endpoint), moved.kind == .moved {
                    redirect = moved.endpoint
                }
                logger.info(
                    "cluster subscription moving", metadata: ["redis.error": "\(reason)", "node": "\(node.configuration.endpoint)"])
                requestRefresh()
                failures += 1
                let delay = poolConfiguration.backoff(afterFailures: failures, jitter: .random(in: 0...1))
                try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
            }
        }
    }
}
