public import NIOCore

/// What a subscription listens to.
public enum RedisSubscriptionTarget: Hashable, Sendable {
    /// `SUBSCRIBE channel`.
    case channel(String)
    /// `PSUBSCRIBE pattern` (glob-style).
    case pattern(String)
    /// `SSUBSCRIBE shardchannel` (sharded pub/sub, Redis 7).
    case shardChannel(String)

    var name: String {
        switch self {
        case .channel(let name), .pattern(let name), .shardChannel(let name): name
        }
    }
}

/// One published message.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public var channel: String
    /// For pattern subscriptions, the pattern that matched.
    public var pattern: String?
    /// The payload.
    public var payload: ByteBuffer
    /// Whether it came through sharded pub/sub.
    public var isSharded: Bool

    /// Creates a message.
    public init(channel: String, pattern: String? = nil, payload: ByteBuffer, isSharded: Bool = false) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
        self.isSharded = isSharded
    }
}

/// A stretch of time in which messages may have been lost.
///
/// A cache that misses an invalidation serves stale data, so a subscriber must learn about every
/// possible loss and react (typically: drop the local copies the lost messages could have covered).
public struct RedisSubscriptionGap: Sendable, Hashable {
    /// Why messages may be missing.
    public enum Reason: Sendable, Hashable {
        /// The pub/sub connection was lost (server restart, network failure, or Redis closing a
        /// slow subscriber past `client-output-buffer-limit pubsub`) and has been re-established.
        case reconnected
        /// This subscriber fell behind and its buffer dropped this many of the oldest messages.
        case overflow(dropped: Int)
    }

    /// Why.
    public var reason: Reason
    /// When the loss may have started (the disconnect, or the first drop).
    public var from: ContinuousClock.Instant
    /// When delivery was whole again (resubscribed, or the gap event was read).
    public var to: ContinuousClock.Instant
}

/// An event of a subscription: a message, or notice that messages may have been lost.
public enum RedisSubscriptionEvent: Sendable, Hashable {
    /// A published message.
    case message(RedisPubSubMessage)
    /// Messages may have been lost in this period; see ``RedisSubscriptionGap``.
    case gap(RedisSubscriptionGap)
}

/// The events of one scoped subscription, as an async sequence.
///
/// Obtained inside ``RedisClient/subscribe(_:bufferLimit:_:)``; it ends when that closure returns.
/// Iterating it from more than one task at a time is not supported.
public struct RedisSubscription: AsyncSequence, Sendable {
    /// Each event of the subscription.
    public typealias Element = RedisSubscriptionEvent
    let buffer: SubscriptionBuffer

    /// The targets this subscription listens to.
    public let targets: [RedisSubscriptionTarget]

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }

    /// Reads events in order; waits when none are buffered.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: SubscriptionBuffer

        /// The next event; nil once the subscription has ended. Throws if the client shut down.
        public mutating func next() async throws -> RedisSubscriptionEvent? {
            try await buffer.next()
        }
    }
}
