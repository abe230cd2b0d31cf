// Deciding between the maps several nodes gave, and telling what changed between two maps.
//
// Nodes can disagree for a while: after a failover or a reshard, gossip takes time to reach
// everyone, and a node cut off from the majority keeps its old view. Views are compared by what
// matters for routing: which node (id and endpoint) is primary for which slots, and whether that
// primary is routable. The group of views that agree most wins; ties go to the group whose map
// can route more slots, then lists more nodes, then was asked first. Replica lists are not part of
// the comparison: Redis 7.0 hides (SLOTS) or marks `loading` (SHARDS) a replica whose replication
// offset is still 0, so views that agree on routing may still list different replicas. The merged
// map takes the replicas every agreeing view knows, each from the view with the highest offset.

/// The outcome of comparing the maps several nodes gave (``ClusterTopology/crossCheck(views:)``).
public struct ClusterViewCheck: Hashable, Sendable {
    /// The chosen map, with replicas merged from every view that agrees with it.
    public let topology: ClusterTopology
    /// Indices (into the views passed in) of the views that agree with the chosen one.
    public let agreeing: [Int]
    /// Indices of the views that route at least one slot differently.
    public let disagreeing: [Int]

    /// Whether every view agreed.
    public var isUnanimous: Bool { disagreeing.isEmpty }

    /// Whether more than half of the views agree with the chosen one.
    public var hasMajority: Bool { agreeing.count * 2 > agreeing.count + disagreeing.count }
}

/// What changed between two maps of a cluster (``ClusterTopology/diff(from:)``).
public struct ClusterTopologyDiff: Hashable, Sendable {
    /// Endpoints listed now but not before: connections to open or pools to create.
    public var addedEndpoints: Set<RedisEndpoint>
    /// Endpoints listed before but not now: pools to retire.
    public var removedEndpoints: Set<RedisEndpoint>
    /// Endpoints listed in both whose role changed (a promoted replica, a demoted primary).
    public var roleChangedEndpoints: Set<RedisEndpoint>
    /// How many slots now route to a different primary (or to none, or to one where there was none).
    public var movedSlotCount: Int

    /// Whether nothing relevant to connections or routing changed.
    public var isEmpty: Bool {
        addedEndpoints.isEmpty && removedEndpoints.isEmpty && roleChangedEndpoints.isEmpty && movedSlotCount == 0
    }
}

extension ClusterTopology {
    /// What decides routing: each primary's identity, routability and slot ranges.
    private struct RoutingSignature: Hashable {
        struct Entry: Hashable {
            var id: String
            var endpoint: RedisEndpoint?
            var routable: Bool
            var ranges: [ClosedRange<HashSlot>]
        }
        var entries: [Entry]

        init(_ topology: ClusterTopology) {
            entries = topology.shards.filter { !$0.slotRanges.isEmpty }.map { shard in
                Entry(
                    id: shard.primary?.id ?? "", endpoint: shard.primary?.endpoint,
                    routable: shard.primary?.isRoutable ?? false, ranges: shard.slotRanges
                )
            }
            entries.sort { ($0.ranges.first?.lowerBound ?? .first) < ($1.ranges.first?.lowerBound ?? .first) }
        }
    }

    /// How many slots have a routable primary.
    var routableSlotCount: Int {
        shards.reduce(0) { $0 + ($1.primary?.isRoutable == true ? $1.slotCount : 0) }
    }

    /// Compares maps from several nodes and picks the one most of them agree with on routing.
    ///
    /// Views agree when every slot has the same primary (id and endpoint) with the same
    /// routability. The largest group of agreeing views wins; ties go to the group that can route
    /// more slots, then the one listing more nodes, then the one asked first. The returned map is
    /// the winning group's most complete view, with replicas added from the other agreeing views
    /// (each replica from the view reporting its highest replication offset).
    ///
    /// - Returns: nil for an empty list.
    /// - Complexity: O(v² · s) for v views of s shards; v is small (the nodes asked).
    public static func crossCheck(views: [ClusterTopology]) -> ClusterViewCheck? {
        guard !views.isEmpty else { return nil }
        let signatures = views.map(RoutingSignature.init)
        var groups: [(signature: RoutingSignature, members: [Int])] = []
        for (index, signature) in signatures.enumerated() {
            if let group = groups.firstIndex(where: { $0.signature == signature }) {
                groups[group].members.append(index)
            } else {
                groups.append((signature, [index]))
            }
        }
        func rank(_ members: [Int]) -> (Int, Int, Int, Int) {
            let view = views[members[0]]
            return (members.count, view.routableSlotCount, members.map { views[$0].nodes.count }.max() ?? 0, -members[0])
        }
        let winner = groups.max { rank($0.members) < rank($1.members) }!.members
        let merged = mergeReplicas(winner.map { views[$0] })
        let disagreeing = views.indices.filter { !winner.contains($0) }
        return ClusterViewCheck(topology: merged, agreeing: winner, disagreeing: disagreeing)
    }

    /// The map most views agree with (see ``crossCheck(views:)``), or nil for an empty list.
    public static func merge(views: [ClusterTopology]) -> ClusterTopology? {
        crossCheck(views: views)?.topology
    }

    /// Views that agree on routing, combined: the one listing the most nodes, plus replicas only
    /// others list; a replica listed by several takes the entry with the highest offset.
    private static func mergeReplicas(_ views: [ClusterTopology]) -> ClusterTopology {
        let base = views.max { $0.nodes.count < $1.nodes.count }!
        guard views.count > 1 else { return base }
        var shards = base.shards
        for index in shards.indices {
            guard let primary = shards[index].primary else { continue }
            var replicas = shards[index].replicas
            for view in views {
                guard let other = view.shards.first(where: { $0.primary?.sameNode(as: primary) == true }) else { continue }
                for candidate in other.replicas {
                    if let existing = replicas.firstIndex(where: { $0.sameNode(as: candidate) }) {
                        if (candidate.replicationOffset ?? -1) > (replicas[existing].replicationOffset ?? -1) {
                            replicas[existing] = candidate
                        }
                    } else {
                        replicas.append(candidate)
                    }
                }
            }
            shards[index].replicas = replicas
        }
        // The slot ranges are unchanged, so they cannot overlap.
        return (try? ClusterTopology(shards: shards)) ?? base
    }

    /// What changed from `previous` to this map: endpoints that appeared, disappeared or changed
    /// role, and how many slots now route to another primary.
    ///
    /// - Complexity: O(16384 + n) for n nodes.
    public func diff(from previous: ClusterTopology) -> ClusterTopologyDiff {
        let now = Dictionary(nodes.map { ($0.endpoint, $0.role) }, uniquingKeysWith: { first, _ in first })
        let before = Dictionary(previous.nodes.map { ($0.endpoint, $0.role) }, uniquingKeysWith: { first, _ in first })
        let nowKeys = Set(now.keys)
        let beforeKeys = Set(before.keys)
        let roleChanged = nowKeys.intersection(beforeKeys).filter { now[$0] != before[$0] }
        var moved = 0
        for raw in 0..<HashSlot.count {
            let slot = HashSlot(unchecked: UInt16(raw))
            if shard(forSlot: slot)?.primary?.endpoint != previous.shard(forSlot: slot)?.primary?.endpoint {
                moved += 1
            }
        }
        return ClusterTopologyDiff(
            addedEndpoints: nowKeys.subtracting(beforeKeys), removedEndpoints: beforeKeys.subtracting(nowKeys),
            roleChangedEndpoints: roleChanged, movedSlotCount: moved
        )
    }
}
