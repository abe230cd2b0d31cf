/// How instances tell each other that in-process copies are stale.
///
/// Every instance keeps its own in-process tier; when one instance writes or removes an entry, the
/// others must drop their copies. An implementation carries ``InvalidationMessage``s between
/// instances (Redis pub/sub, a stream, server-assisted tracking) and reports anything that may have
/// lost messages — a reconnect, a sequence gap — as ``InvalidationEvent/flush(_:)``, because an
/// instance that may have missed an invalidation can no longer trust anything it holds.
public protocol InvalidationBus: Sendable {
    /// Sends an invalidation to the other instances (the bus numbers it). Throws when it could not
    /// be sent. An instance never receives its own messages.
    func publish(_ scope: InvalidationMessage.Scope) async throws

    /// Delivers what other instances published until the calling task is cancelled, reconnecting
    /// as needed. `deliver` is called serially, in arrival order.
    func run(deliver: @escaping @Sendable (InvalidationEvent) -> Void) async throws
}

/// One instance's announcement that entries changed.
public struct InvalidationMessage: Sendable, Hashable {
    /// What became stale.
    public enum Scope: Sendable, Hashable {
        /// These storage keys.
        case keys([String])
        /// Everything in every in-process tier.
        case everything
        /// A tag's (or namespace's) epoch was advanced to `epoch`: entries that recorded a lower
        /// one are stale.
        case tagEpoch(tag: String, epoch: Int64)
    }

    /// The publishing instance's random identity (new at every start).
    public var publisher: UInt64
    /// The publisher's message counter, starting at 1 and increasing by exactly 1; receivers detect
    /// lost messages as gaps.
    public var sequence: UInt64
    /// What became stale.
    public var scope: Scope

    /// Creates a message.
    public init(publisher: UInt64, sequence: UInt64, scope: Scope) {
        self.publisher = publisher
        self.sequence = sequence
        self.scope = scope
    }
}

/// What the bus tells the cache.
public enum InvalidationEvent: Sendable, Hashable {
    /// Drop these storage keys from the in-process tier.
    case invalidate([String])
    /// Drop everything from the in-process tier: messages may have been lost.
    case flush(FlushReason)
    /// A tag's epoch is now at least `epoch` (entries that recorded a lower one are stale).
    case tagEpoch(tag: String, epoch: Int64)

    /// Why everything had to go.
    public enum FlushReason: String, Sendable, Hashable {
        /// The bus (re)subscribed; anything published before is unknown.
        case subscribed
        /// The connection dropped or messages were discarded while it was slow.
        case disconnected
        /// A publisher's sequence skipped numbers.
        case sequenceGap = "sequence_gap"
        /// Another instance asked every instance to clear.
        case requested
    }
}
