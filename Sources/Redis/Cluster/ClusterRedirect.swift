/// A `MOVED` or `ASK` redirection from a cluster node, read from its error reply.
///
/// Replies look like `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`. The address is
/// the node's preferred endpoint and port. An IPv6 address may come bare (`::1:6381`, the port
/// after the last colon) or bracketed (`[::1]:6381`). An empty host (`:6381`, a node whose
/// endpoint is unknown) means "the host you asked", and so does `?` (a hostname was preferred but
/// none is set; the topology refresh a `MOVED` triggers will have the real address).
///
/// What to do with it (cluster spec): on `MOVED`, resend to ``endpoint`` and refresh the slot map;
/// on `ASK`, send `ASKING` and then the command on a connection to ``endpoint``, once, without
/// changing the map.
public struct ClusterRedirect: Hashable, Sendable, CustomStringConvertible {
    /// Which redirection the server sent.
    public enum Kind: Hashable, Sendable {
        /// `MOVED`: the slot now lives on another node; update the map.
        case moved
        /// `ASK`: the slot is migrating; ask the target this once.
        case ask
    }

    /// `MOVED` or `ASK`.
    public var kind: Kind
    /// The slot of the command's key(s).
    public var slot: HashSlot
    /// Where to send the command; an empty or `?` host was replaced by the asked node's host.
    public var endpoint: RedisEndpoint

    /// Creates a redirect.
    public init(kind: Kind, slot: HashSlot, endpoint: RedisEndpoint) {
        self.kind = kind
        self.slot = slot
        self.endpoint = endpoint
    }

    /// Reads a redirect from an error a node returned; nil if it is not a well-formed `MOVED`/`ASK`.
    ///
    /// - Parameter askedNode: the node that sent the error; stands in for an empty host.
    public init?(_ error: RedisError, askedNode: RedisEndpoint) {
        guard error.code == .moved || error.code == .ask, let message = error.serverMessage else { return nil }
        self.init(serverMessage: message, askedNode: askedNode)
    }

    /// Reads a redirect from an error reply's text, such as `MOVED 3999 127.0.0.1:6381`; nil if it
    /// is not a well-formed `MOVED`/`ASK`.
    ///
    /// - Parameter askedNode: the node that sent the error; stands in for an empty host.
    public init?(serverMessage message: String, askedNode: RedisEndpoint) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 3 else { return nil }
        switch words[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        guard let number = Int(words[1]), let slot = HashSlot(number),
            let endpoint = Self.endpoint(words[2], askedNode: askedNode)
        else { return nil }
        self.slot = slot
        self.endpoint = endpoint
    }

    /// `host:port`, `[v6]:port`, bare `v6:port`, or `:port`.
    private static func endpoint(_ address: Substring, askedNode: RedisEndpoint) -> RedisEndpoint? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = address[..<colon]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        }
        if host.isEmpty || host == "?" { return RedisEndpoint(host: askedNode.host, port: port) }
        return RedisEndpoint(host: String(host), port: port)
    }

    /// The kind, slot and endpoint (no keys: a redirect carries none).
    public var description: String {
        "\(kind == .moved ? "MOVED" : "ASK") \(slot) \(endpoint)"
    }
}
