/// A Sentinel-managed service named by a URL:
/// `redis+sentinel://[user:password@]host[:port][,host[:port]…]/service`.
///
/// The hosts are sentinels (port 26379 when omitted); the credentials are the data nodes'. Set
/// ``RedisSentinelConfiguration/username``/``RedisSentinelConfiguration/password`` on ``sentinel``
/// when the sentinels themselves need them.
/// Use ``sentinel`` and ``nodes`` with ``RedisClient/init(sentinel:configuration:pool:eventLoopGroup:logger:metrics:)``.
public struct RedisSentinelURL: Sendable {
    /// The sentinels to ask and the service to ask for.
    public var sentinel: RedisSentinelConfiguration
    /// Credentials, TLS and timeouts for the data nodes; its endpoint is the first sentinel's and
    /// is not used to reach data.
    public var nodes: RedisConnectionConfiguration

    /// The URL scheme this type parses.
    public static let scheme = "redis+sentinel://"

    /// Parses a `redis+sentinel://` URL; nil for anything else, an empty service name or no host.
    public init?(_ url: String) {
        guard url.hasPrefix(Self.scheme) else { return nil }
        let rest = url.dropFirst(Self.scheme.count)
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
            // RedisConnectionConfiguration defaults to the data port; a sentinel's is 26379.
            sentinels.append(RedisEndpoint(host: parsed.endpoint.host, port: host.contains(":") ? parsed.endpoint.port : 26379))
        }
        guard !service.isEmpty, !sentinels.isEmpty,
            let nodes = RedisConnectionConfiguration(url: "redis://\(credentials)\(sentinels[0].host):\(sentinels[0].port)")
        else { return nil }
        self.nodes = nodes
        // The credentials are the data nodes'; sentinels commonly run without a password, and
        // sending one they do not expect fails the handshake.
        self.sentinel = RedisSentinelConfiguration(sentinels: sentinels, serviceName: service)
    }
}
