/// One tag's epoch as recorded in an entry when it was filled, with the tag's slot in this
/// instance's ``TagEpochTable`` so that checking it is an array index, not a dictionary lookup.
struct TagStamp: Sendable, Hashable {
    /// The tag's name (what the envelope stores).
    var tag: String
    /// The tag's slot in the table of the instance that made or decoded the stamp.
    var slot: Int
    /// The epoch the entry saw.
    var epoch: Int64
}

/// The epochs of tags as one instance knows them: sans-I/O, owned by a cache under a lock.
///
/// Epochs are Redis `INCR` counters, so they are comparable across instances without trusting
/// any host's clock. An entry records the epochs of its tags at fill time and is stale once any
/// recorded epoch is lower than the known current one. Knowledge only moves forward: a lower
/// epoch reported late (a reordered message, an older refresh) never lowers an entry's verdict.
///
/// Tags get stable slots when first seen; a slot whose epoch was never fetched is *unresolved*
/// (an entry carrying it cannot be judged without asking the store).
///
/// - Complexity: judging stamps is O(number of stamps) array reads; registering a tag is one
///   dictionary insertion. Slots are never reused, so memory grows with distinct tags seen.
struct TagEpochTable: Sendable {
    /// What the table says about an entry's stamps.
    enum Verdict: Sendable, Hashable {
        /// Every recorded epoch is at least the known current one.
        case current
        /// Some tag moved on since the entry was filled.
        case stale
        /// No tag is known to have moved on, but some tags' epochs were never fetched.
        case unresolved
    }

    static let unknown: Int64 = -1

    private var slotByTag: [String: Int] = [:]
    private var tags: [String] = []
    private var epochs: [Int64] = []

    init() {}

    /// The number of tags with a slot.
    var count: Int { tags.count }

    /// Every tag with a slot, for a refresh.
    var allTags: [String] { tags }

    /// The known current epoch of `tag`; `nil` when unknown.
    func epoch(of tag: String) -> Int64? {
        guard let slot = slotByTag[tag], epochs[slot] != Self.unknown else { return nil }
        return epochs[slot]
    }

    /// The slot of `tag`, registering it (unresolved) when new.
    mutating func slot(for tag: String) -> Int {
        if let slot = slotByTag[tag] { return slot }
        let slot = tags.count
        slotByTag[tag] = slot
        tags.append(tag)
        epochs.append(Self.unknown)
        return slot
    }

    /// Stamps for `tags` with the known epochs, and the tags whose epochs are unknown (their
    /// stamps say 0 until the caller fetches them).
    mutating func stamps(for tags: [String]) -> (stamps: [TagStamp], unresolved: [String]) {
        var stamps: [TagStamp] = []
        stamps.reserveCapacity(tags.count)
        var unresolved: [String] = []
        for tag in tags {
            let slot = slot(for: tag)
            let known = epochs[slot]
            if known == Self.unknown { unresolved.append(tag) }
            stamps.append(TagStamp(tag: tag, slot: slot, epoch: max(known, 0)))
        }
        return (stamps, unresolved)
    }

    /// Slots for epochs read from an envelope.
    mutating func stamps(recorded: [CacheEnvelope.TagEpoch]) -> [TagStamp] {
        recorded.map { TagStamp(tag: $0.tag, slot: slot(for: $0.tag), epoch: $0.epoch) }
    }

    /// Records that `tag`'s epoch is at least `epoch`, registering the tag when new.
    ///
    /// - Returns: the tag's slot and whether the known epoch rose.
    @discardableResult
    mutating func observe(_ tag: String, epoch: Int64) -> (slot: Int, raised: Bool) {
        let slot = slot(for: tag)
        guard epoch > epochs[slot] else { return (slot, false) }
        epochs[slot] = epoch
        return (slot, true)
    }

    /// Like ``observe(_:epoch:)`` but ignores tags without a slot: another instance's bump of a
    /// tag this one never used is fetched on first use instead of being remembered.
    mutating func observeIfKnown(_ tag: String, epoch: Int64) -> (slot: Int, raised: Bool)? {
        guard slotByTag[tag] != nil else { return nil }
        return observe(tag, epoch: epoch)
    }

    /// Judges an entry's stamps. An entry tagged only with its namespace costs one compare.
    func verdict(_ stamps: [TagStamp]) -> Verdict {
        var unresolved = false
        for stamp in stamps {
            guard stamp.slot < epochs.count else {
                unresolved = true
                continue
            }
            let current = epochs[stamp.slot]
            if current > stamp.epoch { return .stale }
            if current == Self.unknown { unresolved = true }
        }
        return unresolved ? .unresolved : .current
    }

    /// Tags among `stamps` whose epochs were never fetched.
    func unresolvedTags(in stamps: [TagStamp]) -> [String] {
        stamps.filter { $0.slot >= epochs.count || epochs[$0.slot] == Self.unknown }.map(\.tag)
    }
}
