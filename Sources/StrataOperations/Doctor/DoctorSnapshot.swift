public import Redis

/// Everything `strata doctor` read from one Redis node, as plain values.
///
/// The rules (``DoctorRule``) only ever see a snapshot, never a connection, so every check can be
/// exercised with recorded payloads. ``DoctorCollector`` fills one over a live connection; a
/// field is nil (and named in ``unreadable``) when the server refused or did not know the
/// command, for example `CONFIG` renamed away or an ACL user without `MEMORY`.
public struct DoctorSnapshot: Sendable {
    /// The node, as `host:port`.
    public var node: String
    /// `INFO all`, as `field: value` (section headers dropped).
    public var info: [String: String]
    /// `CONFIG GET *`.
    public var config: [String: String]?
    /// `MEMORY STATS`, flattened to numbers; nested maps become `db.0.overhead.hashtable.main`.
    public var memoryStats: [String: Double]?
    /// `MEMORY DOCTOR`'s text.
    public var memoryDoctor: String?
    /// The connecting user and what it may run.
    public var access: DoctorAccessFacts?
    /// `SLOWLOG LEN`.
    public var slowlogLength: Int?
    /// Event names reported by `LATENCY LATEST`.
    public var latencyEvents: [String]?
    /// `CLIENT LIST`, parsed.
    public var clients: [DoctorClient]?
    /// Facts from a bounded sample of keys.
    public var keySample: DoctorKeySample?
    /// `CLUSTER INFO` and, on the node the audit started from, `CLUSTER SHARDS`.
    public var cluster: DoctorClusterFacts?
    /// What could not be read and why (an error code word, never a server message).
    public var unreadable: [String: String]

    /// Creates a snapshot; only `node` and `info` are required.
    public init(
        node: String, info: [String: String], config: [String: String]? = nil, memoryStats: [String: Double]? = nil,
        memoryDoctor: String? = nil, access: DoctorAccessFacts? = nil, slowlogLength: Int? = nil,
        latencyEvents: [String]? = nil, clients: [DoctorClient]? = nil, keySample: DoctorKeySample? = nil,
        cluster: DoctorClusterFacts? = nil, unreadable: [String: String] = [:]
    ) {
        self.node = node
        self.info = info
        self.config = config
        self.memoryStats = memoryStats
        self.memoryDoctor = memoryDoctor
        self.access = access
        self.slowlogLength = slowlogLength
        self.latencyEvents = latencyEvents
        self.clients = clients
        self.keySample = keySample
        self.cluster = cluster
        self.unreadable = unreadable
    }

    /// An `INFO` field as an integer.
    public func infoInt(_ field: String) -> Int? { info[field].flatMap { Int($0) } }

    /// An `INFO` field as a number.
    public func infoDouble(_ field: String) -> Double? { info[field].flatMap { Double($0) } }

    /// A configuration parameter as an integer.
    public func configInt(_ parameter: String) -> Int? { config?[parameter].flatMap { Int($0) } }

    /// `maxmemory` in bytes, from `CONFIG` or, when that is unreadable, from `INFO`.
    public var maxmemory: Int? { configInt("maxmemory") ?? infoInt("maxmemory") }

    /// `maxmemory-policy`, from `CONFIG` or `INFO`.
    public var maxmemoryPolicy: String? { config?["maxmemory-policy"] ?? info["maxmemory_policy"] }

    /// `role` from `INFO` (`master` or `slave`).
    public var role: String { info["role"] ?? "unknown" }
}

/// Who the doctor connected as, and which dangerous commands that user may run.
public struct DoctorAccessFacts: Sendable, Hashable {
    /// `ACL WHOAMI`.
    public var user: String
    /// The `flags` of `ACL GETUSER default` (`on`, `nopass`, ...); nil when unreadable.
    public var defaultUserFlags: [String]?
    /// For each dangerous command checked with `ACL DRYRUN`, whether the user may run it.
    public var dangerousCommands: [String: Bool]

    /// Creates the facts.
    public init(user: String, defaultUserFlags: [String]?, dangerousCommands: [String: Bool]) {
        self.user = user
        self.defaultUserFlags = defaultUserFlags
        self.dangerousCommands = dangerousCommands
    }

    /// Whether the default user is enabled and accepts any password.
    public var defaultUserIsOpen: Bool {
        guard let flags = defaultUserFlags else { return false }
        return flags.contains("on") && flags.contains("nopass")
    }
}

/// One line of `CLIENT LIST`, reduced to what the client checks use.
public struct DoctorClient: Sendable, Hashable {
    /// `addr`.
    public var address: String
    /// `name` (may be empty).
    public var name: String
    /// `idle`, in seconds.
    public var idleSeconds: Int
    /// `flags` (`N` normal, `S` replica, `M` primary, `P` pub/sub, `b` blocked, ...).
    public var flags: String
    /// `tot-mem`, in bytes.
    public var totalMemory: Int
    /// Channel, pattern and shard-channel subscriptions.
    public var subscriptions: Int

    /// Creates a client entry.
    public init(address: String, name: String, idleSeconds: Int, flags: String, totalMemory: Int, subscriptions: Int) {
        self.address = address
        self.name = name
        self.idleSeconds = idleSeconds
        self.flags = flags
        self.totalMemory = totalMemory
        self.subscriptions = subscriptions
    }

    /// A replica or primary link rather than an application client.
    public var isReplicationLink: Bool { flags.contains("S") || flags.contains("M") }

    /// Subscribed to pub/sub (idle by design while no message arrives).
    public var isSubscriber: Bool { flags.contains("P") || subscriptions > 0 }

    /// Blocked in a command such as `BLPOP` (idle by design).
    public var isBlocked: Bool { flags.contains("b") }
}

/// What a bounded `SCAN` sample learnt about the keys.
public struct DoctorKeySample: Sendable, Hashable {
    /// A key whose `MEMORY USAGE` was large.
    public struct SizedKey: Sendable, Hashable {
        /// The key's name (invalid UTF-8 replaced).
        public var name: String
        /// `MEMORY USAGE`, in bytes.
        public var bytes: Int

        /// Creates an entry.
        public init(name: String, bytes: Int) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// Keys examined (that still existed when examined).
    public var sampled: Int
    /// Of those, keys without an expiry.
    public var withoutTTL: Int
    /// `MEMORY USAGE` of every sampled key that answered.
    public var sizes: [Int]
    /// The largest keys seen, biggest first (at most ten).
    public var largest: [SizedKey]
    /// Whether the `SCAN` reached its end, so the sample is the whole keyspace.
    public var complete: Bool
    /// Sampled Strata tag epoch counters (`{strata:tag:…}`, the default prefix); they never expire.
    public var tagEpochKeys: Int = 0

    /// Whether `name` is a Strata tag epoch counter under the default prefix.
    public static func isTagEpochKey(_ name: String) -> Bool { name.hasPrefix("{strata:tag:") }

    /// Creates a sample.
    public init(sampled: Int, withoutTTL: Int, sizes: [Int] = [], largest: [SizedKey] = [], complete: Bool) {
        self.sampled = sampled
        self.withoutTTL = withoutTTL
        self.sizes = sizes
        self.largest = largest
        self.complete = complete
    }

    /// The share of sampled keys without an expiry, 0 when nothing was sampled.
    public var shareWithoutTTL: Double { sampled == 0 ? 0 : Double(withoutTTL) / Double(sampled) }
}

/// Cluster facts read from one node.
public struct DoctorClusterFacts: Sendable, Hashable {
    /// `CLUSTER INFO`, as `field: value`.
    public var info: [String: String]
    /// The slot map from `CLUSTER SHARDS`, read only on the node the audit started from.
    public var topology: ClusterTopology?

    /// Creates the facts.
    public init(info: [String: String], topology: ClusterTopology? = nil) {
        self.info = info
        self.topology = topology
    }
}
