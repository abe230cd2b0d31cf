public import NIOCore
public import NIOSSL
public import RESP

/// How to reach and talk to one Redis server.
///
/// Incoherent combinations are rejected by ``validate()`` when a client is created, not silently
/// adjusted.
public struct RedisConnectionConfiguration: Sendable {
    /// Where the server listens.
    public var endpoint: RedisEndpoint
    /// ACL username (`default` when only a password is set).
    public var username: String?
    /// Password for `AUTH`; nil for no authentication.
    public var password: String?
    /// Logical database selected after connecting (standalone only).
    public var database: Int
    /// Name reported by `CLIENT LIST` (`CLIENT SETNAME`).
    public var clientName: String?
    /// TLS settings; nil for plain TCP.
    public var tls: TLSConfiguration?
    /// Host name for TLS SNI and certificate checks; defaults to the endpoint host.
    public var tlsServerName: String?
    /// The protocol to ask for. RESP3 falls back to RESP2 when the server refuses `HELLO 3`.
    public var protocolVersion: RedisProtocolVersion
    /// How long TCP connect plus the handshake may take.
    public var connectTimeout: TimeAmount
    /// Default deadline for one command (or one explicit pipeline), from the moment it is issued.
    public var commandTimeout: TimeAmount
    /// How long a reply to a timed-out or cancelled command may stay missing before the connection
    /// is judged broken and closed. Replies that arrive late are read and discarded.
    public var abandonedReplyTimeout: TimeAmount
    /// Bounds on every reply read from the server.
    public var limits: RESPLimits
    /// Whether connections send `READONLY` after the handshake, so that a cluster replica serves
    /// reads of its slots (set by ``RedisClusterClient`` when replica reads are on).
    var readOnlyReplica = false

    /// Creates a configuration with production defaults.
    public init(
        endpoint: RedisEndpoint,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        clientName: String? = nil,
        tls: TLSConfiguration? = nil,
        tlsServerName: String? = nil,
        protocolVersion: RedisProtocolVersion = .resp3,
        connectTimeout: TimeAmount = .seconds(5),
        commandTimeout: TimeAmount = .seconds(5),
        abandonedReplyTimeout: TimeAmount = .seconds(30),
        limits: RESPLimits = .default
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.tls = tls
        self.tlsServerName = tlsServerName
        self.protocolVersion = protocolVersion
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.abandonedReplyTimeout = abandonedReplyTimeout
        self.limits = limits
    }

    /// Throws ``RedisError/Code-swift.struct/connectionFailed`` naming the first incoherent setting.
    public func validate() throws(RedisError) {
        func fail(_ why: String) -> RedisError {
            RedisError(.connectionFailed, serverMessage: "invalid configuration: \(why)")
        }
        if username != nil, password == nil { throw fail("a username needs a password") }
        if database < 0 { throw fail("database must be >= 0") }
        if connectTimeout <= .zero { throw fail("connectTimeout must be positive") }
        if commandTimeout <= .zero { throw fail("commandTimeout must be positive") }
        if abandonedReplyTimeout <= .zero { throw fail("abandonedReplyTimeout must be positive") }
        if let clientName, clientName.contains(where: { $0 == " " || $0 == "\n" }) {
            throw fail("clientName may not contain spaces or newlines")
        }
    }
}

/// The address of a Redis server.
public struct RedisEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}

/// The RESP protocol generation spoken on a connection.
public enum RedisProtocolVersion: Int, Hashable, Sendable {
    /// RESP2: no push frames; pub/sub needs a dedicated connection.
    case resp2 = 2
    /// RESP3: typed replies and push frames on any connection.
    case resp3 = 3
}

extension RedisConnectionConfiguration {
    /// Parses `redis://[user[:password]@]host[:port][/db]` or `rediss://...` (TLS with the system
    /// trust roots). Returns nil for anything else.
    public init?(url: String) {
        let isTLS: Bool
        var rest: Substring
        if url.hasPrefix("redis://") {
            isTLS = false
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            isTLS = true
            rest = url.dropFirst("rediss://".count)
        } else {
            return nil
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let db = Int(path) else { return nil }
                database = db
            }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let parsed = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = parsed
            host = String(rest[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(
            endpoint: RedisEndpoint(host: host, port: port), username: username, password: password,
            database: database, tls: isTLS ? .makeClientConfiguration() : nil
        )
    }
}
