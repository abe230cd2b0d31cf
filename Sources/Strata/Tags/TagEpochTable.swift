import Synchronization

/// One tag's known current epoch, shared by the table and every stamp of the tag, so that a read
/// judges an entry with atomic loads and no lock. Written only by the owner of the table, under
/// its lock; never lowered.
final class TagEpochCell: Sendable {
    /// The tag's name.
    let tag: String
    /// The table the cell belongs to (see ``TagEpochTable/identity``).
    let table: ObjectIdentifier
    /// The known current epoch; ``TagEpochTable/unknown`` until first fetched.
    let epoch = Atomic<Int64>(TagEpochTable.unknown)

    init(tag: String, table: ObjectIdentifier) {
        self.tag = tag
        self.table = table
    }

    var current: Int64 { epoch.load(ordering: .acquiring) }
}

/// One tag's epoch as recorded in an entry when it was filled, with the tag's cell in this
/// instance's ``TagEpochTable`` so that checking it is one atomic load, not a dictionary lookup.
struct TagStamp: Sendable, Hashable {
    /// The tag's cell in the table of the instance that made or decoded the stamp.
    let cell: TagEpochCell
    /// The epoch the entry saw.
    var epoch: Int64

    /// The tag's name (what the envelope stores).
    var tag: String { cell.tag }

    static func == (lhs: TagStamp, rhs: TagStamp) -> Bool { lhs.cell === rhs.cell && lhs.epoch == rhs.epoch }
    func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(cell))
        hasher.combine(epoch)
    }
}

/// The epochs of tags as one instance knows them: sans-I/O, owned by a cache under a lock.
///
/// Epochs are Redis `INCR` counters, so they are comparable across instances without trusting
/// any host's clock. An entry records the epochs of its tags at fill time and is stale once any
/// recorded epoch is lower than the known current one. Knowledge only moves forward: a lower
/// epoch reported late (a reordered message, an older refresh) never lowers what is known.
///
/// Each tag gets a cell when first seen; a cell whose epoch was never fetched is *unresolved* (an
/// entry carrying it cannot be judged without asking the store). The cells are the only shared
/// part: the table's owner writes them under its lock, readers judge stamps without it.
///
/// - Complexity: judging stamps is one atomic load per stamp; registering a tag is one
///   dictionary insertion. Cells are never dropped, so memory grows with distinct tags seen.
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

    private var cells: [String: TagEpochCell] = [:]
    private var ordered: [TagEpochCell] = []
    private let owner = Owner()

    /// Tells this table's cells from other tables' (a namespace may serve several caches).
    private final class Owner: Sendable {}

    init() {}

    /// The identity every cell of this table carries.
    var identity: ObjectIdentifier { ObjectIdentifier(owner) }

    /// The number of tags with a cell.
    var count: Int { ordered.count }

    /// Every tag with a cell, for a refresh.
    var allTags: [String] { ordered.map(\.tag) }

    /// The known current epoch of `tag`; `nil` when unknown.
    func epoch(of tag: String) -> Int64? {
        guard let current = cells[tag]?.current, current != Self.unknown else { return nil }
        return current
    }

    /// The cell of `tag`, registering it (unresolved) when new.
    mutating func cell(for tag: String) -> TagEpochCell {
        if let cell = cells[tag] { return cell }
        let cell = TagEpochCell(tag: tag, table: identity)
        cells[tag] = cell
        ordered.append(cell)
        return cell
    }

    /// Stamps for `tags` with the known epochs, and the tags whose epochs are unknown (their
    /// stamps say 0 until the caller fetches them).
    mutating func stamps(for tags: [String]) -> (stamps: [TagStamp], unresolved: [String]) {
        var stamps: [TagStamp] = []
        stamps.reserveCapacity(tags.count)
        var unresolved: [String] = []
        for tag in tags {
            let cell = cell(for: tag)
            let known = cell.current
            if known == Self.unknown { unresolved.append(tag) }
            stamps.append(TagStamp(cell: cell, epoch: max(known, 0)))
        }
        return (stamps, unresolved)
    }

    /// Cells for epochs read from an envelope.
    mutating func stamps(recorded: [CacheEnvelope.TagEpoch]) -> [TagStamp] {
        recorded.map { TagStamp(cell: cell(for: $0.tag), epoch: $0.epoch) }
    }

    /// Records that `tag`'s epoch is at least `epoch`, registering the tag when new.
    ///
    /// - Returns: the tag's cell and whether the known epoch rose.
    @discardableResult
    mutating func observe(_ tag: String, epoch: Int64) -> (cell: TagEpochCell, raised: Bool) {
        let cell = cell(for: tag)
        // Only the owner writes, under its lock, so load-then-store cannot lose a raise.
        guard epoch > cell.current else { return (cell, false) }
        cell.epoch.store(epoch, ordering: .releasing)
        return (cell, true)
    }

    /// Like ``observe(_:epoch:)`` but ignores tags without a cell: another instance's bump of a
    /// tag this one never used is fetched on first use instead of being remembered.
    mutating func observeIfKnown(_ tag: String, epoch: Int64) -> (cell: TagEpochCell, raised: Bool)? {
        guard cells[tag] != nil else { return nil }
        return observe(tag, epoch: epoch)
    }

    /// Judges an entry's stamps without the table's lock. An entry tagged only with its namespace
    /// costs one atomic load and one compare.
    static func verdict(_ stamps: [TagStamp]) -> Verdict {
        var unresolved = false
        for stamp in stamps {
            let current = stamp.cell.current
            if current > stamp.epoch { return .stale }
            if current == unknown { unresolved = true }
        }
        return unresolved ? .unresolved : .current
    }

    /// Tags among `stamps` whose epochs were never fetched.
    static func unresolvedTags(in stamps: [TagStamp]) -> [String] {
        stamps.filter { $0.cell.current == unknown }.map(\.tag)
    }
}

/// A namespace's epoch cell, set once by the first cache that resolves it: later reads load it
/// with one atomic load instead of taking the table's lock and hashing the tag.
final class NamespaceEpochCellMemo: Sendable {
    private let cell = AtomicLazyReference<TagEpochCell>()

    /// The memoised cell when it belongs to the table `identity`.
    func cell(ofTable identity: ObjectIdentifier) -> TagEpochCell? {
        guard let cell = cell.load(), cell.table == identity else { return nil }
        return cell
    }

    /// Remembers `cell` unless a cell (possibly another table's) is already remembered.
    func remember(_ cell: TagEpochCell) {
        _ = self.cell.storeIfNil(cell)
    }
}
