public import Redis
public import Strata
import NIOCore
import Synchronization

/// An ``InvalidationBus`` on Redis pub/sub: every instance publishes numbered messages on one
/// channel and subscribes to it.
///
/// Pub/sub is fire-and-forget: a message published while a subscriber is disconnected is lost.
/// So the bus reports every situation in which that can have happened as a flush — the first
/// subscription, a reconnect or buffer overflow (the client reports both as gaps), and a hole in
/// a publisher's sequence numbers. An instance therefore never keeps an in-process copy that an
/// invalidation it missed should have removed.
public struct RedisInvalidationBus: InvalidationBus {
    /// Settings for the bus.
    public struct Configuration: Sendable, Hashable {
        /// The pub/sub channel every instance of the application uses.
        public var channel: String
        /// Messages buffered for a slow subscriber before the client drops them (and the bus flushes).
        public var bufferLimit: Int

        /// Creates a configuration.
        public init(channel: String = "strata:invalidations", bufferLimit: Int = 4096) {
            self.channel = channel
            self.bufferLimit = bufferLimit
        }
    }

    private let client: RedisClient
    private let configuration: Configuration
    /// This instance's random publisher identity; its own messages are ignored on receipt.
    public let publisherID: UInt64
    private let sequence = SequenceCounter()

    /// Creates a bus over `client` (which must be running).
    public init(client: RedisClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
        self.publisherID = UInt64.random(in: 1...UInt64.max)
    }

    public func publish(_ scope: InvalidationMessage.Scope) async throws {
        let message = InvalidationMessage(publisher: publisherID, sequence: sequence.next(), scope: scope)
        try await client.publish(ByteBuffer(bytes: message.encoded()), to: configuration.channel)
    }

    public func run(deliver: @escaping @Sendable (InvalidationEvent) -> Void) async throws {
        try await client.subscribe([.channel(configuration.channel)], bufferLimit: configuration.bufferLimit) { subscription in
            var tracker = InvalidationSequenceTracker()
            // Anything published before this subscription existed is unknown.
            deliver(.flush(.subscribed))
            for try await event in subscription {
                switch event {
                case .gap:
                    tracker.reset()
                    deliver(.flush(.disconnected))
                case .message(let message):
                    guard let decoded = InvalidationMessage(decoding: Array(message.payload.readableBytesView)),
                        decoded.publisher != publisherID
                    else { continue }
                    switch tracker.received(publisher: decoded.publisher, sequence: decoded.sequence) {
                    case .stale:
                        continue
                    case .gap:
                        deliver(.flush(.sequenceGap))
                    case .apply:
                        break
                    }
                    switch decoded.scope {
                    case .keys(let keys): deliver(.invalidate(keys))
                    case .everything: deliver(.flush(.requested))
                    case .tagEpoch(let tag, let epoch): deliver(.tagEpoch(tag: tag, epoch: epoch))
                    }
                }
            }
        }
    }
}

/// Numbers a publisher's messages 1, 2, 3, … across concurrent publishes.
final class SequenceCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func next() -> UInt64 { value.wrappingAdd(1, ordering: .relaxed).newValue }
}
