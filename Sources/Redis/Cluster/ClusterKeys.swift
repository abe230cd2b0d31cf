import NIOCore

// What a command's keys mean for routing in a cluster, and the commands that may be split by
// slot. The cluster spec refuses a command whose keys span slots (CROSSSLOT, even when both slots
// live on one node), so the client checks first: a refused command is never sent, and a
// transaction or script with keys in two slots fails before any of it reaches a server.

/// Where a command's keys send it.
enum ClusterKeyPlacement: Hashable, Sendable {
    /// No keys: any primary will do.
    case anyPrimary
    /// Every key hashes to this slot.
    case slot(HashSlot)
    /// The keys span several slots.
    case crossSlot

    /// The placement of `keys`.
    ///
    /// - Complexity: O(total key length).
    init(keys: some Sequence<String>) {
        var placement = ClusterKeyPlacement.anyPrimary
        for key in keys { placement = placement.adding(HashSlot(key: key)) }
        self = placement
    }

    /// The placement once a key in `slot` joins.
    func adding(_ slot: HashSlot) -> ClusterKeyPlacement {
        switch self {
        case .anyPrimary: .slot(slot)
        case .slot(let current): current == slot ? self : .crossSlot
        case .crossSlot: self
        }
    }

    /// The placement of the union of both key sets.
    func merged(with other: ClusterKeyPlacement) -> ClusterKeyPlacement {
        switch other {
        case .anyPrimary: self
        case .slot(let slot): adding(slot)
        case .crossSlot: .crossSlot
        }
    }

    /// The slot, or nil for `anyPrimary` (callers handle `crossSlot` first).
    var slot: HashSlot? {
        if case .slot(let slot) = self { return slot }
        return nil
    }
}

extension RedisError {
    /// The cluster client's refusal of a command, script or transaction whose keys span hash
    /// slots; raised before anything is sent. The same code as the server's `CROSSSLOT` reply.
    static func crossSlot(command: String) -> RedisError {
        RedisError(
            .crossSlot, command: command,
            serverMessage: "keys of one command, script or transaction must share a hash slot in a cluster; "
                + "give them a common hash tag such as {user:1}; nothing was sent"
        )
    }
}

/// A multi-key command whose keys are independent, so a cluster client may run it once per hash
/// slot and combine the replies: the result equals the whole command's, without its atomicity.
protocol SlotSplittableCommand: RedisCommand {
    /// The same command for a subset of its keys (in the given order).
    func restricted(to keys: [String]) -> Self
    /// The whole command's reply from the parts' replies; `positions` are the indices in the
    /// whole command's `keys` that each part covered, in the part's order.
    static func combine(_ parts: [(positions: [Int], response: Response)], keyCount: Int) throws(RedisError) -> Response
}

extension SlotSplittableCommand where Response == Int {
    /// Counting commands (`DEL`, `UNLINK`, `EXISTS`) add up.
    static func combine(_ parts: [(positions: [Int], response: Int)], keyCount: Int) -> Int {
        parts.reduce(0) { $0 + $1.response }
    }
}

extension DEL: SlotSplittableCommand {
    func restricted(to keys: [String]) -> DEL { DEL(keys) }
}

extension UNLINK: SlotSplittableCommand {
    func restricted(to keys: [String]) -> UNLINK { UNLINK(keys) }
}

extension EXISTS: SlotSplittableCommand {
    func restricted(to keys: [String]) -> EXISTS { EXISTS(keys) }
}

extension MGET: SlotSplittableCommand {
    func restricted(to keys: [String]) -> MGET { MGET(keys) }

    /// Puts every part's values back at their keys' positions.
    static func combine(_ parts: [(positions: [Int], response: [ByteBuffer?])], keyCount: Int) throws(RedisError) -> [ByteBuffer?] {
        var values = [ByteBuffer?](repeating: nil, count: keyCount)
        for part in parts {
            guard part.positions.count == part.response.count else {
                throw RedisError(.unexpectedReply, command: name, serverMessage: "MGET returned a wrong number of values")
            }
            for (position, value) in zip(part.positions, part.response) { values[position] = value }
        }
        return values
    }
}

/// How a cluster client answers a node's error: the cluster-level replies it handles itself.
enum ClusterErrorStep: Equatable {
    /// Resend to the redirect's node (`ASKING` first for an `ASK`); a `MOVED` also refreshes the map.
    case redirect(ClusterRedirect)
    /// Route again by the map after `delay`; `refresh` asks for a new map first.
    case retry(after: TimeAmount, refresh: Bool)
    /// Not a cluster condition: the caller gets the error.
    case fail

    /// `TRYAGAIN` (a multi-key command during a migration) is retried after this.
    static let tryAgainDelay = TimeAmount.milliseconds(20)
    /// `CLUSTERDOWN`, or a slot without a healthy primary, is retried (after a refresh) this often.
    static let clusterDownDelay = TimeAmount.milliseconds(50)

    /// The step for `error`, which `askedNode` returned.
    init(_ error: RedisError, askedNode: RedisEndpoint) {
        switch error.code {
        case .moved, .ask:
            if let redirect = ClusterRedirect(error, askedNode: askedNode) {
                self = .redirect(redirect)
            } else {
                self = .fail
            }
        case .tryAgain: self = .retry(after: Self.tryAgainDelay, refresh: false)
        case .clusterDown: self = .retry(after: Self.clusterDownDelay, refresh: true)
        default: self = .fail
        }
    }
}
