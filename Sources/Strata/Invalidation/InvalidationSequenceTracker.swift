/// Detects lost invalidation messages from per-publisher sequence numbers.
///
/// Sans-I/O. Each publisher numbers its messages 1, 2, 3, …; a receiver that sees 5 after 3 knows
/// it missed one and must flush. A publisher seen for the first time is accepted at any number
/// (messages before the receiver subscribed are covered by the flush on subscribe). Old or
/// repeated numbers are ignored. Memory is bounded: only the most recently active publishers
/// are remembered; forgetting one merely means its next message is accepted like a first one.
public struct InvalidationSequenceTracker: Sendable {
    /// What to do with a message.
    public enum Verdict: Sendable, Hashable {
        /// Apply it.
        case apply
        /// Apply it and flush: `missed` messages from this publisher never arrived.
        case gap(missed: UInt64)
        /// Ignore it: already seen (a duplicate or a reordering).
        case stale
    }

    private var lastSequence: [UInt64: UInt64] = [:]
    private var lastUse: [UInt64: UInt64] = [:]
    private var tick: UInt64 = 0
    private let maximumPublishers: Int

    /// Creates a tracker remembering up to `maximumPublishers` publishers.
    public init(maximumPublishers: Int = 1024) {
        self.maximumPublishers = max(1, maximumPublishers)
    }

    /// Judges one message.
    public mutating func received(publisher: UInt64, sequence: UInt64) -> Verdict {
        tick &+= 1
        defer { lastUse[publisher] = tick }
        guard let last = lastSequence[publisher] else {
            remember(publisher, sequence)
            return .apply
        }
        if sequence <= last { return .stale }
        lastSequence[publisher] = sequence
        return sequence == last + 1 ? .apply : .gap(missed: sequence - last - 1)
    }

    /// Forgets every publisher (after a reconnect, when a flush covers whatever was missed).
    public mutating func reset() {
        lastSequence.removeAll(keepingCapacity: true)
        lastUse.removeAll(keepingCapacity: true)
    }

    private mutating func remember(_ publisher: UInt64, _ sequence: UInt64) {
        if lastSequence.count >= maximumPublishers, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            lastSequence[oldest] = nil
            lastUse[oldest] = nil
        }
        lastSequence[publisher] = sequence
    }
}
