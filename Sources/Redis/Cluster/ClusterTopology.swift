// The cluster's slot map as one node described it: immutable, built once per refresh, read on
// every command. Lookups index a flat 16384-entry table (slot -> shard index), so routing a
// command costs one hash and one array read. Parsing lives in ClusterTopology+Parsing.swift,
// comparing views from several nodes and diffing successive maps in ClusterTopology+Views.swift.

/// An immutable map of a Redis Cluster: its shards and which shard serves each hash slot.
///
/// Build one from a `CLUSTER SHARDS` reply (``init(shardsReply:askedNode:useTLSPort:)``), from a
/// `CLUSTER SLOTS` reply (``init(slotsReply:askedNode:)``), or from shards directly. Nodes whose
/// health is `loading` or `fail` stay in the map (so they can be watched and diffed) but are never
/// returned for routing: ``primary(forSlot:)`` returns nil when a slot's primary is unhealthy.
///
/// Equality compares the shards (the slot table follows from them).
public struct ClusterTopology: Hashable, Sendable, CustomStringConvertible {
    /// Who serves a slot, and whether commands can be sent there now.
    public enum SlotOwner: Hashable, Sendable {
        /// The slot's primary, healthy.
        case primary(ClusterNode)
        /// The slot's shard has a primary, but it is `loading` or `fail`.
        case unhealthyPrimary(ClusterNode)
        /// The slot's shard lists no primary.
        case noPrimary
        /// No shard serves the slot (the cluster is incomplete or being rebuilt).
        case unassigned
    }

    /// The shards, in the order the reply listed them.
    public let shards: [ClusterShard]
    /// Slot number -> index into `shards`, or `Self.unassigned`.
    private let slotTable: [UInt16]
    private static let unassigned = UInt16.max

    /// Builds the map from shards.
    ///
    /// - Throws: ``RedisError`` `unexpectedReply` if two shards claim the same slot, or if there
    ///   are more shards than the table can index (65535).
    public init(shards: [ClusterShard]) throws(RedisError) {
        guard shards.count < Int(Self.unassigned) else {
            throw RedisError(.unexpectedReply, serverMessage: "too many cluster shards: \(shards.count)")
        }
        var table = [UInt16](repeating: Self.unassigned, count: HashSlot.count)
        for (index, shard) in shards.enumerated() {
            for range in shard.slotRanges {
                for slot in Int(range.lowerBound.rawValue)...Int(range.upperBound.rawValue) {
                    guard table[slot] == Self.unassigned else {
                        throw RedisError(.unexpectedReply, serverMessage: "two cluster shards claim slot \(slot)")
                    }
                    table[slot] = UInt16(index)
                }
            }
        }
        self.shards = shards
        self.slotTable = table
    }

    /// A map with no shards: every slot unassigned.
    public static let empty = ClusterTopology(noShards: ())

    private init(noShards: Void) {
        self.shards = []
        self.slotTable = [UInt16](repeating: Self.unassigned, count: HashSlot.count)
    }

    // MARK: Routing

    /// The index into ``shards`` of the shard serving `slot`, or nil if none does.
    ///
    /// - Complexity: O(1).
    public func shardIndex(forSlot slot: HashSlot) -> Int? {
        let index = slotTable[Int(slot.rawValue)]
        return index == Self.unassigned ? nil : Int(index)
    }

    /// The shard serving `slot`, or nil if none does.
    ///
    /// - Complexity: O(1).
    public func shard(forSlot slot: HashSlot) -> ClusterShard? {
        shardIndex(forSlot: slot).map { shards[$0] }
    }

    /// Who serves `slot`, telling an unhealthy primary apart from a missing one.
    ///
    /// - Complexity: O(1).
    public func owner(ofSlot slot: HashSlot) -> SlotOwner {
        guard let shard = shard(forSlot: slot) else { return .unassigned }
        guard let primary = shard.primary else { return .noPrimary }
        return primary.isRoutable ? .primary(primary) : .unhealthyPrimary(primary)
    }

    /// The healthy primary serving `slot`: nil if the slot is unassigned, its shard has no
    /// primary, or the primary is `loading` or `fail`.
    ///
    /// - Complexity: O(1).
    public func primary(forSlot slot: HashSlot) -> ClusterNode? {
        if case .primary(let node) = owner(ofSlot: slot) { return node }
        return nil
    }

    /// The healthy primary serving `key`'s slot (see ``primary(forSlot:)``).
    ///
    /// - Complexity: O(n) in the key's length.
    public func primary(forKey key: String) -> ClusterNode? {
        primary(forSlot: HashSlot(key: key))
    }

    /// The healthy replicas of the shard serving `slot` (empty if none).
    public func replicas(forSlot slot: HashSlot) -> [ClusterNode] {
        shard(forSlot: slot)?.routableReplicas ?? []
    }

    // MARK: Whole-map facts

    /// Every node, primaries and replicas, shard by shard.
    public var nodes: [ClusterNode] { shards.flatMap(\.nodes) }

    /// The endpoints of every node (healthy or not).
    public var endpoints: Set<RedisEndpoint> { Set(nodes.map(\.endpoint)) }

    /// The node with this cluster id, if the map lists it.
    public func node(id: String) -> ClusterNode? { nodes.first { $0.id == id } }

    /// The node at this endpoint, if the map lists it.
    public func node(at endpoint: RedisEndpoint) -> ClusterNode? { nodes.first { $0.endpoint == endpoint } }

    /// How many slots some shard serves.
    public var assignedSlotCount: Int { slotTable.reduce(0) { $0 + ($1 == Self.unassigned ? 0 : 1) } }

    /// Whether every slot has a healthy primary: the cluster can serve any key.
    public var isFullyRoutable: Bool {
        shards.reduce(0) { $0 + ($1.primary?.isRoutable == true ? $1.slotCount : 0) } == HashSlot.count
    }

    /// Shards, nodes and slot coverage; endpoints but no keys.
    public var description: String {
        let nodeCount = nodes.count
        return "ClusterTopology(\(shards.count) shards, \(nodeCount) nodes, \(assignedSlotCount) slots assigned)"
    }

    /// Compares the shards.
    public static func == (lhs: ClusterTopology, rhs: ClusterTopology) -> Bool { lhs.shards == rhs.shards }

    /// Hashes the shards.
    public func hash(into hasher: inout Hasher) { hasher.combine(shards) }
}
