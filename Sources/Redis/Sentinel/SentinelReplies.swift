import NIOCore
import RESP

// What the Sentinel replica-read machinery reads from the wire, as plain values: the entries of
// `SENTINEL REPLICAS <service>`, a node's `ROLE`, and the sentinels' pub/sub events. Parsing is
// free of I/O so that the state machine's tests can feed recorded replies.

/// One replica as a sentinel lists it in `SENTINEL REPLICAS <service>`.
struct SentinelReplicaEntry: Hashable, Sendable {
    /// Where the sentinel reaches it (`ip`, `port`).
    var endpoint: RedisEndpoint
    /// The sentinel's flags for it (`slave`, `s_down`, `o_down`, `disconnected`, ...).
    var flags: Set<String>
    /// The replica's link to its primary as the sentinel last read it from `INFO` (`ok`, `err`).
    var masterLinkStatus: String?

    /// Whether the sentinel considers it fit to serve reads: not down, connected, link ok.
    var isHealthy: Bool {
        flags.isDisjoint(with: ["s_down", "o_down", "disconnected"]) && masterLinkStatus == "ok"
    }

    /// Whether the sentinel believes it is down (as opposed to still syncing or reconnecting).
    var isDown: Bool { !flags.isDisjoint(with: ["s_down", "o_down"]) }

    /// Reads a `SENTINEL REPLICAS` reply: an array of RESP3 maps or RESP2 flat field arrays.
    ///
    /// - Throws: `unexpectedReply` when an entry lacks `ip` or a numeric `port`.
    static func list(fromRESP token: RESPToken) throws(RedisError) -> [SentinelReplicaEntry] {
        guard case .array(let entries) = token.value else { throw .unexpected(token, expected: "array of replicas") }
        var result: [SentinelReplicaEntry] = []
        result.reserveCapacity(entries.count)
        for entry in entries {
            let fields = try entry.decodeStringMap(as: String.self)
            guard let ip = fields["ip"], let port = fields["port"].flatMap({ Int($0) }) else {
                throw .unexpected(entry, expected: "replica with ip and port")
            }
            let flags = Set((fields["flags"] ?? "").split(separator: ",").map(String.init))
            result.append(SentinelReplicaEntry(
                endpoint: RedisEndpoint(host: ip, port: port), flags: flags, masterLinkStatus: fields["master-link-status"]
            ))
        }
        return result
    }
}

/// What a node says it is (`ROLE`).
enum SentinelNodeRole: Hashable, Sendable {
    /// A primary (`master`).
    case primary
    /// A replica of `primary`; `linkUp` when its replication link is `connected`.
    case replica(of: RedisEndpoint, linkUp: Bool)
    /// Anything else (a sentinel, or a role this client does not know).
    case other

    /// Reads `ROLE`: `[master, ...]`, `[slave, host, port, state, offset]`, `[sentinel, ...]`.
    ///
    /// - Throws: `unexpectedReply` when the reply is not an array starting with a role name.
    init(roleReply token: RESPToken) throws(RedisError) {
        guard case .array(let parts) = token.value else { throw .unexpected(token, expected: "ROLE array") }
        var iterator = parts.makeIterator()
        guard let first = iterator.next() else { throw .unexpected(token, expected: "ROLE array") }
        switch try String(fromRESP: first) {
        case "master":
            self = .primary
        case "slave", "replica":
            guard let host = iterator.next(), let port = iterator.next(), let state = iterator.next() else {
                throw .unexpected(token, expected: "ROLE of a replica")
            }
            self = .replica(
                of: RedisEndpoint(host: try String(fromRESP: host), port: try Int(fromRESP: port)),
                linkUp: try String(fromRESP: state) == "connected"
            )
        default:
            self = .other
        }
    }
}

/// A sentinel pub/sub event about the configured service, as the replica reads need it.
enum SentinelEvent: Hashable, Sendable {
    /// `+switch-master`: the service has a new primary.
    case switchMaster(RedisEndpoint)
    /// `+sdown` of one of the service's replicas.
    case replicaDown(RedisEndpoint)
    /// `-sdown` or `+slave` about the service: the replica list changed.
    case replicasChanged

    /// The channels the events come from; `+switch-master` alone when replica reads are off.
    static func channels(replicaReads: Bool) -> [String] {
        replicaReads ? ["+switch-master", "+sdown", "-sdown", "+slave"] : ["+switch-master"]
    }

    /// Reads one event, or nil when it is about another service or instance type.
    ///
    /// Payloads: `+switch-master <service> <old-ip> <old-port> <new-ip> <new-port>`; instance
    /// events `<type> <name> <ip> <port> @ <service> <primary-ip> <primary-port>`, where a
    /// primary's own events have no `@` part.
    static func parse(channel: String, payload: String, service: String) -> SentinelEvent? {
        let fields = payload.split(separator: " ")
        if channel == "+switch-master" {
            guard fields.count == 5, fields[0] == service, let port = Int(fields[4]) else { return nil }
            return .switchMaster(RedisEndpoint(host: String(fields[3]), port: port))
        }
        guard fields.count == 8, fields[0] == "slave", fields[4] == "@", fields[5] == service,
            let port = Int(fields[3])
        else { return nil }
        switch channel {
        case "+sdown": return .replicaDown(RedisEndpoint(host: String(fields[2]), port: port))
        case "-sdown", "+slave": return .replicasChanged
        default: return nil
        }
    }
}
