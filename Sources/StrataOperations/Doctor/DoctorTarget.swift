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
        if url.hasPrefix("redis+sentinel://") {
            let rest = url.dropFirst("redis+sentinel://".count)
            guard let slash = rest.lastIndex(of: "/") else { return nil }
            let service = String(rest[rest.index(after: slash)...])
            var hosts = rest[..<slash]
            var credentials = ""
            if let at = hosts.lastIndex(of: "@") {
                credentials = String(hosts[...at])
                hosts = hosts[hosts.index(after: at)...]
            }
            var sentinels: [RedisEndpoint] = []
            for host in hosts.split(separator: ",") {
                guard let parsed = RedisConnectionConfiguration(url: "redis://\(host)") else { return nil }
                sentinels.append(RedisEndpoint(host: parsed.endpoint.host, port: host.contains(":") ? parsed.endpoint.port : 26379))
            }
            guard !service.isEmpty, !sentinels.isEmpty,
                let nodes = RedisConnectionConfiguration(url: "redis://\(credentials)\(sentinels[0].host):\(sentinels[0].port)")
            else { return nil }
            self = .sentinel(sentinels: sentinels, service: service, nodes: nodes)
            return
        }
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
