public import RESP

/// `PING`: the server's `PONG`.
public struct PING: RedisCommand {
    /// The typed reply.
    public typealias Response = String
    /// `PING`.
    public static var name: String { "PING" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("PING") }
}

/// `INFO [section]`: the server's report, parsed into `field: value` pairs per line.
public struct INFO: RedisCommand {
    /// The typed reply.
    public typealias Response = [String: String]
    /// `INFO`.
    public static var name: String { "INFO" }
    /// The section (`memory`, `server`, `all`, ...); nil for the default set.
    public var section: String?
    /// Creates the command.
    public init(_ section: String? = nil) { self.section = section }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("INFO", section) }
    /// Splits the text into fields, skipping `# Section` headers.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: String] {
        let text = try String(fromRESP: token)
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}

/// `CONFIG GET pattern`: matching parameters and their values.
public struct CONFIGGET: RedisCommand {
    /// The typed reply.
    public typealias Response = [String: String]
    /// `CONFIG`.
    public static var name: String { "CONFIG" }
    /// The parameter name or glob.
    public var pattern: String
    /// Creates the command.
    public init(_ pattern: String) { self.pattern = pattern }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("CONFIG", "GET", pattern) }
    /// Reads a map or flat array.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: String] { try token.decodeStringMap() }
}

/// `MEMORY USAGE key [SAMPLES n]`: bytes used by the key and its value, or nil if absent.
public struct MEMORYUSAGE: RedisCommand {
    /// The typed reply.
    public typealias Response = Int?
    /// `MEMORY`.
    public static var name: String { "MEMORY" }
    /// The key.
    public var key: String
    /// `[key]`: the key that routes the command in a cluster.
    public var keys: [String] { [key] }
    /// Nested elements to sample; 0 for all.
    public var samples: Int?
    /// Creates the command.
    public init(_ key: String, samples: Int? = nil) {
        self.key = key
        self.samples = samples
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("MEMORY", "USAGE", key, samples.map { RESPOption("SAMPLES", $0) })
    }
}

/// `MEMORY STATS`: the server's memory report (a map of mixed values).
public struct MEMORYSTATS: RedisCommand {
    /// The typed reply.
    public typealias Response = RESPValue
    /// `MEMORY`.
    public static var name: String { "MEMORY" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("MEMORY", "STATS") }
}

/// `MEMORY DOCTOR`: the server's own memory advice, as text.
public struct MEMORYDOCTOR: RedisCommand {
    /// The typed reply.
    public typealias Response = String
    /// `MEMORY`.
    public static var name: String { "MEMORY" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("MEMORY", "DOCTOR") }
}

/// `TIME`: the server's clock.
public struct TIME: RedisCommand {
    /// Seconds and microseconds since the Unix epoch.
    public struct ServerTime: Sendable, Hashable {
        /// Whole seconds.
        public var seconds: Int
        /// Microseconds within the second.
        public var microseconds: Int
    }
    /// The typed reply.
    public typealias Response = ServerTime
    /// `TIME`.
    public static var name: String { "TIME" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("TIME") }
    /// Reads `[seconds, microseconds]`.
    public func decode(_ token: RESPToken) throws(RedisError) -> ServerTime {
        let parts = try [Int](fromRESP: token)
        guard parts.count == 2 else { throw .unexpected(token, expected: "two integers") }
        return ServerTime(seconds: parts[0], microseconds: parts[1])
    }
}

/// `CLIENT ID`: this connection's id.
public struct CLIENTID: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `CLIENT`.
    public static var name: String { "CLIENT" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("CLIENT", "ID") }
}

/// `CLIENT SETNAME name`.
public struct CLIENTSETNAME: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `CLIENT`.
    public static var name: String { "CLIENT" }
    /// The new name (no spaces).
    public var clientName: String
    /// Creates the command.
    public init(_ clientName: String) { self.clientName = clientName }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("CLIENT", "SETNAME", clientName) }
}

/// `CLIENT INFO`: this connection's `field=value` line, parsed.
public struct CLIENTINFO: RedisCommand {
    /// The typed reply.
    public typealias Response = [String: String]
    /// `CLIENT`.
    public static var name: String { "CLIENT" }
    /// Creates the command.
    public init() {}
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("CLIENT", "INFO") }
    /// Splits `id=3 addr=... name=...` into fields.
    public func decode(_ token: RESPToken) throws(RedisError) -> [String: String] {
        var fields: [String: String] = [:]
        for part in try String(fromRESP: token).split(whereSeparator: \.isWhitespace) {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        return fields
    }
}
