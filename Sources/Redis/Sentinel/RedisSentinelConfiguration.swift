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

    /// Creates a configuration.
    public init(
        sentinels: [RedisEndpoint], serviceName: String, username: String? = nil, password: String? = nil,
        tls: TLSConfiguration? = nil, sentinelTimeout: TimeAmount = .milliseconds(500)
    ) {
        self.sentinels = sentinels
        self.serviceName = serviceName
        self.username = username
        self.password = password
        self.tls = tls
        self.sentinelTimeout = sentinelTimeout
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
    }

    /// Connection settings for talking to one sentinel.
    func connection(to sentinel: RedisEndpoint) -> RedisConnectionConfiguration {
        RedisConnectionConfiguration(
            endpoint: sentinel, username: username, password: password, tls: tls, connectTimeout: sentinelTimeout,
            commandTimeout: sentinelTimeout
        )
    }
}
