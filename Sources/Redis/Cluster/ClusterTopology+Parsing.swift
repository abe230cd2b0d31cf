import NIOCore
public import RESP

// Reading `CLUSTER SHARDS` (Redis 7.0+) and `CLUSTER SLOTS` (the fallback for older servers).
//
// SHARDS: an array of shards; each shard has `slots` (a flat list of inclusive start/end pairs)
// and `nodes` (each with `id`, `port`, `tls-port`, `ip`, `endpoint`, `hostname`, `role`,
// `replication-offset`, `health`). Over RESP3 shards and nodes are maps; over RESP2 they are flat
// arrays of alternating names and values. Unknown fields are ignored.
//
// SLOTS: one entry per slot range: start, end, then the primary and the replicas, each as
// [endpoint, port, id, metadata]. A primary with several ranges appears once per range, so entries
// are grouped into shards by primary id.
//
// Endpoints: a NULL or empty endpoint means "the host you asked" (unknown endpoint, or a node
// that does not know its own address yet), so it is replaced by the asked node's host; `?` (a
// hostname was preferred but none is set) falls back to the node's `ip`, then to the asked host.
//
// Redis 7.0 hides a replica whose replication offset is still 0 from SLOTS and reports it as
// `loading` in SHARDS; such a replica is kept but not routable, or simply absent.

extension ClusterTopology {
    /// Reads a `CLUSTER SHARDS` reply (RESP3 maps or RESP2 flat arrays).
    ///
    /// - Parameters:
    ///   - askedNode: the node that answered; its host stands in for NULL or empty endpoints.
    ///   - useTLSPort: take each node's `tls-port` (falling back to `port`) instead of `port`
    ///     (falling back to `tls-port`).
    /// - Throws: ``RedisError`` `unexpectedReply` when the reply does not have the documented
    ///   shape, a node has no usable port, or two shards claim one slot.
    public init(shardsReply reply: RESPToken, askedNode: RedisEndpoint, useTLSPort: Bool = false) throws(RedisError) {
        guard case .array(let shardTokens) = reply.value else { throw Self.malformed("SHARDS", "not an array") }
        var shards: [ClusterShard] = []
        shards.reserveCapacity(shardTokens.count)
        for shardToken in shardTokens {
            var ranges: [ClosedRange<HashSlot>] = []
            var nodes: [ClusterNode] = []
            for (name, value) in try Self.fields(of: shardToken, in: "SHARDS") {
                switch name {
                case "slots": ranges = try Self.slotRanges(value)
                case "nodes":
                    guard case .array(let nodeTokens) = value.value else { throw Self.malformed("SHARDS", "nodes") }
                    for nodeToken in nodeTokens {
                        nodes.append(try Self.shardNode(nodeToken, askedNode: askedNode, useTLSPort: useTLSPort))
                    }
                default: continue
                }
            }
            shards.append(Self.shard(ranges: ranges, nodes: nodes))
        }
        try self.init(shards: shards)
    }

    /// Reads a `CLUSTER SLOTS` reply, grouping ranges into shards by primary.
    ///
    /// Nodes get ``ClusterNode/Health/online`` (the reply carries no health) and no replication
    /// offset. The port is whatever the server chose for the asking connection (TLS or not).
    ///
    /// - Parameter askedNode: the node that answered; its host stands in for NULL or empty endpoints.
    /// - Throws: ``RedisError`` `unexpectedReply` when the reply does not have the documented shape
    ///   or two primaries claim one slot.
    public init(slotsReply reply: RESPToken, askedNode: RedisEndpoint) throws(RedisError) {
        guard case .array(let entries) = reply.value else { throw Self.malformed("SLOTS", "not an array") }
        var shards: [ClusterShard] = []
        var shardByPrimary: [String: Int] = [:]
        for entry in entries {
            guard case .array(let parts) = entry.value, parts.count >= 3 else {
                throw Self.malformed("SLOTS", "slot range entry")
            }
            var iterator = parts.makeIterator()
            guard let startToken = iterator.next(), let endToken = iterator.next(),
                let start = Self.integer(startToken).flatMap({ HashSlot($0) }), let end = Self.integer(endToken).flatMap({ HashSlot($0) }),
                start <= end
            else { throw Self.malformed("SLOTS", "slot range bounds") }
            var nodes: [ClusterNode] = []
            while let nodeToken = iterator.next() {
                nodes.append(try Self.slotsNode(nodeToken, askedNode: askedNode, role: nodes.isEmpty ? .primary : .replica))
            }
            let primary = nodes[0]
            let key = primary.id.isEmpty ? primary.endpoint.description : primary.id
            if let index = shardByPrimary[key] {
                var shard = shards[index]
                shard.slotRanges.append(start...end)
                shard.slotRanges.sort { $0.lowerBound < $1.lowerBound }
                for replica in nodes.dropFirst() where !shard.replicas.contains(where: { $0.sameNode(as: replica) }) {
                    shard.replicas.append(replica)
                }
                shards[index] = shard
            } else {
                shardByPrimary[key] = shards.count
                shards.append(ClusterShard(slotRanges: [start...end], primary: primary, replicas: Array(nodes.dropFirst())))
            }
        }
        try self.init(shards: shards)
    }

    // MARK: Pieces

    /// A shard from its listed nodes: the first primary leads, everything else follows as listed.
    private static func shard(ranges: [ClosedRange<HashSlot>], nodes: [ClusterNode]) -> ClusterShard {
        guard let primaryIndex = nodes.firstIndex(where: { $0.role == .primary }) else {
            return ClusterShard(slotRanges: ranges, primary: nil, replicas: nodes)
        }
        var others = nodes
        let primary = others.remove(at: primaryIndex)
        return ClusterShard(slotRanges: ranges, primary: primary, replicas: others)
    }

    private static func shardNode(_ token: RESPToken, askedNode: RedisEndpoint, useTLSPort: Bool) throws(RedisError) -> ClusterNode {
        var id = ""
        var port: Int?
        var tlsPort: Int?
        var ip: String?
        var endpoint: String?
        var role = ClusterNode.Role.replica
        var offset: Int?
        var health = ClusterNode.Health.online
        for (name, value) in try fields(of: token, in: "SHARDS") {
            switch name {
            case "id": id = string(value) ?? ""
            case "port": port = integer(value)
            case "tls-port": tlsPort = integer(value)
            case "ip": ip = string(value)
            case "endpoint": endpoint = string(value)
            case "role": role = Self.role(string(value))
            case "replication-offset": offset = integer(value)
            case "health": health = string(value).map(ClusterNode.Health.init) ?? .online
            default: continue
            }
        }
        let chosenPort = useTLSPort ? (tlsPort ?? port) : (port ?? tlsPort)
        guard let chosenPort, chosenPort > 0 else { throw malformed("SHARDS", "node without a port") }
        return ClusterNode(
            id: id, endpoint: RedisEndpoint(host: host(endpoint: endpoint, ip: ip, askedNode: askedNode), port: chosenPort),
            role: role, health: health, replicationOffset: offset
        )
    }

    private static func slotsNode(_ token: RESPToken, askedNode: RedisEndpoint, role: ClusterNode.Role) throws(RedisError) -> ClusterNode {
        guard case .array(let parts) = token.value, parts.count >= 2 else { throw malformed("SLOTS", "node entry") }
        var iterator = parts.makeIterator()
        guard let hostToken = iterator.next(), let portToken = iterator.next(), let port = integer(portToken), port > 0 else {
            throw malformed("SLOTS", "node address")
        }
        let id = iterator.next().flatMap(string) ?? ""
        var ip: String?
        if let metadata = iterator.next() {
            for (name, value) in (try? fields(of: metadata, in: "SLOTS")) ?? [] where name == "ip" { ip = string(value) }
        }
        let host = host(endpoint: string(hostToken), ip: ip, askedNode: askedNode)
        return ClusterNode(id: id, endpoint: RedisEndpoint(host: host, port: port), role: role)
    }

    /// The host to connect to: the endpoint, unless it is unknown (NULL or empty: the asked
    /// node's host) or `?` (the node's ip if known, else the asked node's host).
    static func host(endpoint: String?, ip: String?, askedNode: RedisEndpoint) -> String {
        switch endpoint {
        case nil, "": return askedNode.host
        case "?":
            if let ip, !ip.isEmpty, ip != "?" { return ip }
            return askedNode.host
        case let endpoint?: return endpoint
        }
    }

    private static func role(_ word: String?) -> ClusterNode.Role {
        switch word {
        case "master", "primary": .primary
        default: .replica
        }
    }

    /// A flat `[start, end, start, end, ...]` list of inclusive ranges.
    private static func slotRanges(_ token: RESPToken) throws(RedisError) -> [ClosedRange<HashSlot>] {
        guard case .array(let bounds) = token.value, bounds.count % 2 == 0 else { throw malformed("SHARDS", "slots") }
        var ranges: [ClosedRange<HashSlot>] = []
        ranges.reserveCapacity(bounds.count / 2)
        var iterator = bounds.makeIterator()
        while let startToken = iterator.next(), let endToken = iterator.next() {
            guard let start = integer(startToken).flatMap({ HashSlot($0) }), let end = integer(endToken).flatMap({ HashSlot($0) }),
                start <= end
            else { throw malformed("SHARDS", "slot range bounds") }
            ranges.append(start...end)
        }
        return ranges
    }

    /// The name/value pairs of a RESP3 map or a RESP2 flat array of alternating names and values.
    private static func fields(of token: RESPToken, in command: String) throws(RedisError) -> [(String, RESPToken)] {
        var result: [(String, RESPToken)] = []
        switch token.value {
        case .map(let map):
            for (key, value) in map {
                guard let name = string(key) else { throw malformed(command, "field name") }
                result.append((name, value))
            }
        case .array(let elements) where elements.count % 2 == 0:
            var iterator = elements.makeIterator()
            while let key = iterator.next(), let value = iterator.next() {
                guard let name = string(key) else { throw malformed(command, "field name") }
                result.append((name, value))
            }
        default:
            throw malformed(command, "expected a map or a flat array of fields")
        }
        return result
    }

    private static func string(_ token: RESPToken) -> String? {
        switch token.value {
        case .bulkString(let bytes), .simpleString(let bytes), .verbatimString(_, let bytes): String(buffer: bytes)
        default: nil
        }
    }

    private static func integer(_ token: RESPToken) -> Int? {
        switch token.value {
        case .integer(let value): value
        case .bulkString(let bytes), .simpleString(let bytes): Int(String(buffer: bytes))
        default: nil
        }
    }

    private static func malformed(_ command: String, _ what: String) -> RedisError {
        RedisError(.unexpectedReply, command: "CLUSTER", serverMessage: "malformed CLUSTER \(command) reply: \(what)")
    }
}

extension ClusterNode {
    /// Whether two entries describe the same node: same id, or same endpoint when ids are missing.
    func sameNode(as other: ClusterNode) -> Bool {
        id.isEmpty || other.id.isEmpty ? endpoint == other.endpoint : id == other.id
    }
}
