// Which channels the pub/sub connection must be subscribed to, who listens to each, and what a
// reconnect must restore. Free of I/O: the shell (`RedisPubSub`) feeds it events and performs the
// returned actions. Subscribers are IDs; their buffers live in the shell.

struct PubSubStateMachine {
    typealias SubscriberID = UInt64

    enum ConnectionState: Equatable {
        /// No subscribers yet: no connection is kept.
        case idle
        case connecting
        case up
        /// Lost; the loss began at `lossStart`, and live subscribers are owed a gap until the resubscribe.
        case down
    }

    enum SubscribeAction: Equatable {
        /// Send these subscribe commands now (the connection is up).
        case send([RedisSubscriptionTarget])
        /// Every target is already confirmed: the subscriber is live.
        case ready
        /// Open the connection; the subscriber waits for it.
        case connect
        /// A connection is on its way; the subscriber waits for it.
        case wait
    }

    private(set) var connection = ConnectionState.idle
    private(set) var subscribers: [SubscriberID: [RedisSubscriptionTarget]] = [:]
    private var listeners: [RedisSubscriptionTarget: Set<SubscriberID>] = [:]
    private(set) var confirmed: Set<RedisSubscriptionTarget> = []
    /// Subscribers whose `subscribe` call waits until all their targets are confirmed.
    private var awaiting: [SubscriberID: Set<RedisSubscriptionTarget>] = [:]
    /// Unsubscribes sent and not yet confirmed, per target: an unsubscribe push beyond these
    /// came from the server (a shard channel whose slot moved away).
    private var unsubscribing: [RedisSubscriptionTarget: Int] = [:]

    mutating func subscribe(_ id: SubscriberID, to targets: [RedisSubscriptionTarget]) -> SubscribeAction {
        subscribers[id] = targets
        var fresh: [RedisSubscriptionTarget] = []
        for target in targets {
            if listeners[target, default: []].isEmpty { fresh.append(target) }
            listeners[target, default: []].insert(id)
        }
        let unconfirmed = Set(targets).subtracting(confirmed)
        if unconfirmed.isEmpty { return .ready }
        awaiting[id] = unconfirmed
        switch connection {
        case .up:
            return fresh.isEmpty ? .wait : .send(fresh)
        case .idle:
            connection = .connecting
            return .connect
        case .connecting, .down:
            return .wait
        }
    }

    /// The subscriber left; returns the targets nobody listens to any more (to unsubscribe when up).
    mutating func unsubscribe(_ id: SubscriberID) -> [RedisSubscriptionTarget] {
        guard let targets = subscribers.removeValue(forKey: id) else { return [] }
        awaiting[id] = nil
        var orphaned: [RedisSubscriptionTarget] = []
        for target in Set(targets) {
            listeners[target]?.remove(id)
            if listeners[target]?.isEmpty == true {
                listeners[target] = nil
                confirmed.remove(target)
                orphaned.append(target)
            }
        }
        guard connection == .up else { return [] }
        for target in orphaned { unsubscribing[target, default: 0] += 1 }
        return orphaned
    }

    /// Subscribers removed because the server dropped one of their targets, and the targets
    /// nobody listens to any more as a result (to unsubscribe when up).
    struct Eviction: Equatable {
        var subscribers: [SubscriberID]
        var orphaned: [RedisSubscriptionTarget]
        /// The gap owed to the others, when the evicted targets were all that kept a loss open.
        var gap: Gap?
    }

    /// The server confirmed an unsubscribe. One the client asked for is bookkeeping; any other
    /// is the server dropping a shard channel whose slot left this node (Redis 7 sends
    /// `sunsubscribe` then): its listeners are evicted, since nothing reaches them here any more.
    mutating func unsubscribed(_ target: RedisSubscriptionTarget) -> Eviction? {
        if let pending = unsubscribing[target] {
            unsubscribing[target] = pending > 1 ? pending - 1 : nil
            return nil
        }
        guard case .shardChannel = target else { return nil }
        return evict(listeners[target] ?? [], dropped: [target])
    }

    /// The server refused a subscription with a redirect for `slot` (`MOVED`): every shard
    /// channel in that slot lives elsewhere, so their listeners are evicted.
    mutating func refused(slot: HashSlot) -> Eviction? {
        let dropped = listeners.keys.filter { target in
            if case .shardChannel(let name) = target { return HashSlot(key: name) == slot }
            return false
        }
        return evict(dropped.reduce(into: Set<SubscriberID>()) { $0.formUnion(listeners[$1] ?? []) }, dropped: Set(dropped))
    }

    private mutating func evict(_ ids: Set<SubscriberID>, dropped: Set<RedisSubscriptionTarget>) -> Eviction? {
        guard !ids.isEmpty else { return nil }
        var orphaned: [RedisSubscriptionTarget] = []
        for id in ids.sorted() { orphaned += unsubscribe(id) }
        // The server no longer has the dropped targets: no unsubscribe is sent or awaited for them.
        for target in orphaned where dropped.contains(target) {
            unsubscribing[target] = unsubscribing[target].flatMap { $0 > 1 ? $0 - 1 : nil }
        }
        return Eviction(subscribers: ids.sorted(), orphaned: orphaned.filter { !dropped.contains($0) }, gap: settleGapIfWhole())
    }

    /// The server confirmed a subscription. Returns subscribers whose every target is now live and,
    /// once everything is resubscribed after a loss, the gap owed to those who were live before.
    mutating func confirmed(_ target: RedisSubscriptionTarget) -> (ready: [SubscriberID], gap: Gap?) {
        guard listeners[target] != nil else { return ([], nil) }
        confirmed.insert(target)
        var ready: [SubscriberID] = []
        for (id, pending) in awaiting {
            var remaining = pending
            remaining.remove(target)
            if remaining.isEmpty {
                awaiting[id] = nil
                ready.append(id)
            } else {
                awaiting[id] = remaining
            }
        }
        return (ready, settleGapIfWhole())
    }

    /// A loss is over only when every target is confirmed again on the new connection.
    private mutating func settleGapIfWhole() -> Gap? {
        guard connection == .up, let since = lossStart, Set(listeners.keys).isSubset(of: confirmed) else { return nil }
        let recipients = owedGap.filter { subscribers[$0] != nil }
        lossStart = nil
        owedGap = []
        return recipients.isEmpty ? nil : Gap(from: since, to: Array(recipients))
    }

    /// Subscribers that receive a message published on `channel` (matched by `pattern`, if any).
    func recipients(channel: String, pattern: String?, sharded: Bool) -> Set<SubscriberID> {
        let target: RedisSubscriptionTarget
        if let pattern {
            target = .pattern(pattern)
        } else {
            target = sharded ? .shardChannel(channel) : .channel(channel)
        }
        return listeners[target] ?? []
    }

    /// Whether a connection is wanted (someone listens).
    var wantsConnection: Bool { !subscribers.isEmpty }

    /// A period in which messages may have been lost, and who must hear about it.
    struct Gap: Equatable {
        var from: ContinuousClock.Instant
        var to: [SubscriberID]
    }

    /// When the current loss began (nil while delivery is whole).
    private var lossStart: ContinuousClock.Instant?
    /// Subscribers that were live when the loss began: each is owed a gap event.
    private var owedGap: Set<SubscriberID> = []

    /// A connection is up: returns every target to resubscribe. The gap of a loss is settled
    /// when all of them are confirmed (see ``confirmed(_:)``).
    mutating func connected(at now: ContinuousClock.Instant) -> [RedisSubscriptionTarget] {
        connection = .up
        confirmed = []
        unsubscribing = [:]
        if listeners.isEmpty {
            lossStart = nil
            owedGap = []
        }
        return Array(listeners.keys)
    }

    /// The connection was lost, or a connect attempt failed.
    mutating func disconnected(at now: ContinuousClock.Instant) {
        confirmed = []
        guard wantsConnection else {
            connection = .idle
            lossStart = nil
            owedGap = []
            return
        }
        if lossStart == nil, connection == .up {
            lossStart = now
            owedGap = Set(subscribers.keys).subtracting(awaiting.keys)
        }
        connection = .down
    }

    /// Whether a subscriber's subscribe call is still waiting for confirmations.
    func isAwaiting(_ id: SubscriberID) -> Bool { awaiting[id] != nil }
}
