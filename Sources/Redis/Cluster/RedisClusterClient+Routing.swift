public import NIOCore
import RESP

// Routing one command: slot -> healthy primary -> that node's RedisClient, then the cluster's
// answers within the caller's deadline (ClusterErrorStep decides which):
// - MOVED: request a refresh, resend to the named node (a client is created if it is unknown).
// - ASK: send ASKING and the command as one pipeline on the target's client. A pipeline goes out
//   on one connection, contiguously, so ASKING applies to the command. The map is not changed.
// - TRYAGAIN (a multi-key command during a migration): retry at the owner after 20 ms.
// - CLUSTERDOWN, or no healthy primary in the map: request a refresh, retry every 50 ms until the
//   deadline, then throw the last error.
// - A node client that was shut down by a refresh: route again.
// Redirects count against `maximumRedirects`. Connection failures request a refresh and are
// thrown: the command may have run, so it is not resent.

extension RedisClusterClient {
    /// Sends one command to the primary serving `key`'s hash slot, following redirects.
    ///
    /// - Parameters:
    ///   - key: the key (or any key, for a multi-key command whose keys share a slot) that
    ///     decides the node.
    ///   - timeout: covers routing, every redirect and retry, and the round trips; defaults to the
    ///     configuration's `commandTimeout`.
    /// - Throws: ``RedisError``: the server's error; `tooManyRedirects` after `maximumRedirects`
    ///   redirects; the last `CLUSTERDOWN` when no node could serve the slot before the deadline;
    ///   the last refresh failure when the map had no primary for the slot (`clusterDown` if the
    ///   map loaded, `timeout` if none has yet); `timeout` when the deadline passed.
    public func send<Command: RedisCommand>(
        _ command: Command, key: String, timeout: TimeAmount? = nil
    ) async throws(RedisError) -> Command.Response {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        return try await send(command, slot: HashSlot(key: key), deadline: deadline)
    }

    /// Sends one command to the primary serving `slot`, following redirects (see
    /// ``send(_:key:timeout:)``).
    public func send<Command: RedisCommand>(
        _ command: Command, slot: HashSlot, timeout: TimeAmount? = nil
    ) async throws(RedisError) -> Command.Response {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        return try await send(command, slot: slot, deadline: deadline)
    }

    /// Sends `command` to the primary serving `slot` (any primary when nil) by `deadline`.
    func send<Command: RedisCommand>(
        _ command: Command, slot: HashSlot?, deadline: NIODeadline
    ) async throws(RedisError) -> Command.Response {
        try await routed(
            Command.name, slot: slot, read: readFromReplicas && ReplicaReadPolicy.isReadOnly(command), deadline: deadline,
            node: { endpoint throws(RedisError) in try client(for: endpoint) },
            attempt: { node, asking, timeout throws(RedisError) in
                try await Self.attempt(command, on: node, asking: asking, timeout: timeout)
            }
        )
    }

    /// Routes one operation (named `name` in errors) to the node serving `slot`, following the
    /// cluster's answers by `deadline` (see the comment at the top of this file).
    ///
    /// - Parameters:
    ///   - read: route to a replica of the slot's shard when it has a healthy one.
    ///   - node: what to send through for an endpoint: its pooled client, or (for tracked reads)
    ///     its tracking connection. An error it throws is handled like a failed attempt.
    ///   - attempt: sends the operation through a node; `asking` means an `ASK` redirect is being
    ///     followed, so `ASKING` must precede it on the same connection.
    func routed<Node, Response>(
        _ name: String, slot: HashSlot?, read: Bool, deadline: NIODeadline,
        node: (RedisEndpoint) throws(RedisError) -> Node,
        attempt: (Node, _ asking: Bool, _ timeout: TimeAmount) async throws(RedisError) -> Response
    ) async throws(RedisError) -> Response {
        var redirect: ClusterRedirect?
        var redirects = 0
        var lastError: RedisError?
        var unroutable = false
        while true {
            let now = NIODeadline.now()
            guard now < deadline else {
                // Could not route at all: the latest refresh failure says why, if there was one.
                if unroutable, let refreshError = state.withLock({ $0.lastRefreshError }) { throw refreshError }
                throw lastError ?? RedisError(.timeout, command: name)
            }
            unroutable = false
            let endpoint: RedisEndpoint
            var asking = false
            if let redirect {
                endpoint = redirect.endpoint
                asking = redirect.kind == .ask
            } else if let routed = try routeEndpoint(slot, read: read) {
                endpoint = routed
            } else {
                requestRefresh()
                unroutable = true
                lastError = state.withLock { state in
                    state.topology == nil
                        ? RedisError(.timeout, command: name, serverMessage: "no cluster slot map loaded yet")
                        : RedisError(.clusterDown, command: name, serverMessage: Self.unroutableMessage(slot))
                }
                try await pause(.milliseconds(50), before: deadline)
                continue
            }
            let error: RedisError
            do {
                return try await attempt(try node(endpoint), asking, deadline - now)
            } catch let caught {
                error = caught
            }
            lastError = error
            switch ClusterErrorStep(error, askedNode: endpoint) {
            case .redirect(let next):
                counters.record(error.code)
                redirects += 1
                guard redirects <= maximumRedirects else {
                    throw RedisError(
                        .tooManyRedirects, command: name,
                        serverMessage: "more than \(maximumRedirects) redirects for slot \(slot.map(String.init(describing:)) ?? "any"), last: \(next)",
                        underlying: error)
                }
                if next.kind == .moved { requestRefresh() }
                redirect = next
            case .retry(let delay, let refresh):
                counters.record(error.code)
                redirect = nil
                if refresh { requestRefresh() }
                try await pause(delay, before: deadline)
            case .fail:
                switch error.code {
                case .shutdown where !state.withLock({ $0.isShutDown }):
                    // The node client was retired by a refresh after we picked it: route again.
                    redirects += 1
                    guard redirects <= maximumRedirects else { throw error }
                    redirect = nil
                case .connectionFailed, .connectionClosed, .circuitOpen:
                    requestRefresh()
                    throw error
                default:
                    throw error
                }
            }
        }
    }

    /// The client of the healthy primary serving `slot` (any healthy primary when nil; with
    /// `read`, a replica of the slot's shard if it has a healthy one), or nil if the map has none
    /// (or no map is known yet).
    func route(_ slot: HashSlot?, read: Bool = false) throws(RedisError) -> RedisClient? {
        guard let endpoint = try routeEndpoint(slot, read: read) else { return nil }
        return try client(for: endpoint)
    }

    /// The endpoint ``route(_:read:)`` picks.
    func routeEndpoint(_ slot: HashSlot?, read: Bool = false) throws(RedisError) -> RedisEndpoint? {
        try state.withLock { state throws(RedisError) -> RedisEndpoint? in
            guard !state.isShutDown else { throw RedisError(.shutdown) }
            guard let topology = state.topology else { return nil }
            if read, let slot { return Self.readEndpoint(for: slot, in: topology) }
            return Self.endpoint(for: slot, in: topology)
        }
    }

    /// The healthy primary serving `slot` in `topology`; for nil, a random healthy primary
    /// (commands without keys spread over the shards).
    static func endpoint(for slot: HashSlot?, in topology: ClusterTopology) -> RedisEndpoint? {
        if let slot { return topology.primary(forSlot: slot)?.endpoint }
        return topology.shards.compactMap { $0.primary?.isRoutable == true ? $0.primary?.endpoint : nil }.randomElement()
    }

    /// Why a command could not be routed, for the error at its deadline.
    static func unroutableMessage(_ slot: HashSlot?) -> String {
        slot.map { "no healthy primary known for slot \($0)" } ?? "no healthy primary known"
    }

    /// Sends the command through `node`; after an `ASK`, as `ASKING` + command in one pipeline
    /// (one connection, contiguous), returning the command's reply.
    static func attempt<Command: RedisCommand>(
        _ command: Command, on node: some RedisCommandExecutor, asking: Bool, timeout: TimeAmount
    ) async throws(RedisError) -> Command.Response {
        guard asking else { return try await node.send(command, timeout: timeout) }
        let results = try await node.pipeline([RawCommand(["ASKING"]), command], timeout: timeout)
        guard results.count == 2 else {
            throw RedisError(.unexpectedReply, command: Command.name, serverMessage: "ASKING pipeline returned \(results.count) replies")
        }
        if case .failure(let error) = results[0] { throw error }
        switch results[1] {
        case .success(let token): return try command.decode(token)
        case .failure(var error):
            error.command = Command.name
            throw error
        }
    }

    /// Sleeps `amount`, or until `deadline` if that comes first.
    func pause(_ amount: TimeAmount, before deadline: NIODeadline) async throws(RedisError) {
        let nanoseconds = min(amount.nanoseconds, (deadline - .now()).nanoseconds)
        guard nanoseconds > 0 else { return }
        do {
            try await Task.sleep(nanoseconds: UInt64(nanoseconds))
        } catch {
            throw RedisError(.cancelled)
        }
    }
}
