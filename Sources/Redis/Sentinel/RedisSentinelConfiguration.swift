public import NIOCore
public import NIOSSL

/// How to find the primary of a Sentinel-managed service.
///
/// Credentials and TLS for the sentinels are separate from the data nodes' (which come from the
/// client's ``RedisConnectionConfiguration``; its endpoint is replaced by the discovered primary).
public struct RedisSentinelConfiguration: Sendable {
    /// Sentinel addresses, tried in order; the one that answers moves to the front.
    public var sentinels: [RedisEndpoint]
    /// The monitored service (`sentinel monitor <name> ...`).
    public var serviceName: String
    /// ACL username for the sentinels.
    public var username: String?
    /// Password for the sentinels (their own `requirepass`), if any.
    public var password: String?
    /// TLS for the sentinels; nil for plain TCP.
    public var tls: TLSConfiguration?
    /// How long one sentinel may take to connect and answer.
    public var sentinelTimeout: TimeAmount
    /// Whether read-only commands go to replicas (default false).
    ///
    /// Replicas come from `SENTINEL REPLICAS <service>`; only those the sentinels list as healthy
    /// (not `s_down`, `o_down` or `disconnected`, link `ok`) and whose `ROLE` says they replicate
    /// the current primary with their link up serve reads, each over its own pool. Which commands
    /// are reads is decided as for the cluster client's replica reads. With no such replica,
    /// reads go to the primary; a read that fails on a replica's connection is retried on the
    /// primary. Replication is asynchronous: a replica read may miss a write acknowledged just
    /// before. Pipelines, scripts, transactions and tracking stay on the primary.
    public var readFromReplicas: Bool
    /// How often the replica list is re-read when no sentinel event prompts it (default 10 s;
    /// only with ``readFromReplicas``).
    public var replicaRefreshInterval: TimeAmount

    /// Creates a configuration.
    public init(
        sentinels: [RedisEndpoint], serviceName: String, username: String? = nil, password: String? = nil,
        tls: TLSConfiguration? = nil, sentinelTimeout: TimeAmount = .milliseconds(500), readFromReplicas: Bool = false,
        replicaRefreshInterval: TimeAmount = .seconds(10)
    ) {
        self.sentinels = sentinels
        self.serviceName = serviceName
        self.username = username
        self.password = password
        self.tls = tls
        self.sentinelTimeout = sentinelTimeout
        self.readFromReplicas = readFromReplicas
        self.replicaRefreshInterval = replicaRefreshInterval
    }

    /// Throws naming the first incoherent setting.
    public func validate() throws(RedisError) {
        if sentinels.isEmpty {
            throw RedisError(.connectionFailed, serverMessage: "invalid sentinel configuration: no sentinels")
        }
        if serviceName.isEmpty || serviceName.contains(" ") {
            throw RedisError(.connectionFailed, serverMessage: "invalid sentinel configuration: bad service name")
        }
        if sentinelTimeout <= .zero {
            throw RedisError(.connectionFailed, serverMessage: "invalid sentinel configuration: sentinelTimeout must be positive")
        }
        if replicaRefreshInterval <= .zero {
            throw RedisError(
                .connectionFailed, serverMessage: "invalid sentinel configuration: replicaRefreshInterval must be positive")
        }
    }

    /// Connection settings for talking to one sentinel.
    func connection(to sentinel: RedisEndpoint) -> RedisConnectionConfiguration {
        RedisConnectionConfiguration(
            endpoint: sentinel, username: username, password: password, tls: tls, connectTimeout: sentinelTimeout,
            commandTimeout: sentinelTimeout
        )
    }
}
