/// One node of a Redis Cluster as a topology reply describes it.
public struct ClusterNode: Hashable, Sendable, CustomStringConvertible {
    /// Whether a node serves its shard's slots or replicates them.
    public enum Role: Hashable, Sendable {
        /// The node that owns the shard's slots and takes writes.
        case primary
        /// A node replicating the primary; it serves reads only after `READONLY`.
        case replica
    }

    /// A node's health as `CLUSTER SHARDS` reports it: `online`, `loading` or `fail`.
    ///
    /// A struct over a string, so new values a server may add later are kept, not rejected.
    public struct Health: Hashable, Sendable, CustomStringConvertible {
        /// The word the server sent.
        public let rawValue: String

        /// Wraps a health word as sent by the server (`failed`, as some documentation spells it,
        /// is read as `fail`).
        public init(_ rawValue: String) { self.rawValue = rawValue == "failed" ? "fail" : rawValue }

        /// `online`: the node serves traffic.
        public static let online = Health("online")
        /// `loading`: not serving yet (a replica still syncing, or a node loading its data).
        /// Redis 7.0 reports a replica whose replication offset is still 0 this way.
        public static let loading = Health("loading")
        /// `fail`: the cluster considers the node failed.
        public static let failed = Health("fail")

        /// Whether commands may be sent to a node in this state: anything but `loading` and
        /// `fail`/`failed` (an unknown word is given the benefit of the doubt).
        public var isRoutable: Bool {
            switch rawValue {
            case "loading", "fail": false
            default: true
            }
        }

        /// The health word.
        public var description: String { rawValue }
    }

    /// The node's 40-character cluster id (empty if the reply had none, as old `CLUSTER SLOTS` do).
    public var id: String
    /// Where to connect: the preferred endpoint, with the plain or TLS port as asked for.
    public var endpoint: RedisEndpoint
    /// Primary or replica.
    public var role: Role
    /// Health; `CLUSTER SLOTS` has none, so nodes parsed from it are `online`.
    public var health: Health
    /// The replication offset the answering node knows, when the reply carried one.
    public var replicationOffset: Int?

    /// Creates a node.
    public init(
        id: String, endpoint: RedisEndpoint, role: Role, health: Health = .online, replicationOffset: Int? = nil
    ) {
        self.id = id
        self.endpoint = endpoint
        self.role = role
        self.health = health
        self.replicationOffset = replicationOffset
    }

    /// Whether commands may be sent to this node (see ``Health/isRoutable``).
    public var isRoutable: Bool { health.isRoutable }

    /// The endpoint, role and health (node ids and endpoints are not user data).
    public var description: String {
        "\(endpoint) \(role == .primary ? "primary" : "replica") \(health)"
    }
}

/// The nodes that serve one set of slots: a primary and its replicas.
public struct ClusterShard: Hashable, Sendable {
    /// The inclusive slot ranges the shard serves, sorted, not overlapping; may be empty.
    public var slotRanges: [ClosedRange<HashSlot>]
    /// The primary, or nil if the reply named none (a shard whose primary is unknown).
    public var primary: ClusterNode?
    /// The replicas, in the order the reply listed them (including unhealthy ones).
    public var replicas: [ClusterNode]

    /// Creates a shard; the ranges are sorted.
    public init(slotRanges: [ClosedRange<HashSlot>], primary: ClusterNode?, replicas: [ClusterNode] = []) {
        self.slotRanges = slotRanges.sorted { $0.lowerBound < $1.lowerBound }
        self.primary = primary
        self.replicas = replicas
    }

    /// The primary followed by the replicas.
    public var nodes: [ClusterNode] { (primary.map { [$0] } ?? []) + replicas }

    /// How many slots the shard serves.
    public var slotCount: Int {
        slotRanges.reduce(0) { $0 + Int($1.upperBound.rawValue) - Int($1.lowerBound.rawValue) + 1 }
    }

    /// The replicas that may serve reads now (see ``ClusterNode/isRoutable``).
    public var routableReplicas: [ClusterNode] { replicas.filter(\.isRoutable) }
}
