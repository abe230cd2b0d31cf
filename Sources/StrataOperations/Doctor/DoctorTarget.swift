public import Redis

/// What `strata doctor` audits: one node (and, if it is a Cluster node, every node of its
/// cluster), or the primary and replicas of a Sentinel-managed service.
public enum DoctorTarget: Sendable {
    /// A node reached with this configuration. A Cluster node expands into the whole cluster.
    case node(RedisConnectionConfiguration)
    /// A service behind Sentinel: ask `sentinels` (in order) for `service`; data nodes are
    /// reached with `nodes` (credentials, TLS, timeouts; its endpoint is ignored).
    case sentinel(sentinels: [RedisEndpoint], service: String, nodes: RedisConnectionConfiguration)

    /// Parses `redis://[user:password@]host[:port][/db]`, `rediss://…`, or
    /// `redis+sentinel://[user:password@]host[:port][,host[:port]…]/service`.
    ///
    /// With `sentinelService`, a `redis://` URL names a sentinel rather than a data node.
    /// Returns nil for anything else.
    public init?(url: String, sentinelService: String? = nil) {
        if let parsed = RedisSentinelURL(url) {
            self = .sentinel(sentinels: parsed.sentinel.sentinels, service: parsed.sentinel.serviceName, nodes: parsed.nodes)
            return
        }
        if url.hasPrefix(RedisSentinelURL.scheme) { return nil }
        guard let configuration = RedisConnectionConfiguration(url: url) else { return nil }
        if let sentinelService {
            var nodes = configuration
            nodes.database = 0
            self = .sentinel(sentinels: [configuration.endpoint], service: sentinelService, nodes: nodes)
        } else {
            self = .node(configuration)
        }
    }

    /// A short description for the report header (no credentials).
    public var description: String {
        switch self {
        case .node(let configuration): "\(configuration.endpoint)"
        case .sentinel(let sentinels, let service, _): "sentinel \(sentinels.map(\.description).joined(separator: ",")) service \(service)"
        }
    }
}
