public import NIOCore
public import RESP

// Routing one command: slot -> healthy primary -> that node's RedisClient, then the cluster's
// answers within the caller's deadline:
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

    func send<Command: RedisCommand>(
        _ command: Command, slot: HashSlot, deadline: NIODeadline
    ) async throws(RedisError) -> Command.Response {
        var redirect: ClusterRedirect?
        var redirects = 0
        var lastError: RedisError?
        var unroutable = false
        while true {
            let now = NIODeadline.now()
            guard now < deadline else {
                // Could not route at all: the latest refresh failure says why, if there was one.
                if unroutable, let refreshError = state.withLock({ $0.lastRefreshError }) { throw refreshError }
                throw lastError ?? RedisError(.timeout, command: Command.name)
            }
            unroutable = false
            let node: RedisClient
            var asking = false
            if let redirect {
                node = try client(for: redirect.endpoint)
                asking = redirect.kind == .ask
            } else if let routed = try route(slot) {
                node = routed
            } else {
                requestRefresh()
                unroutable = true
                lastError = state.withLock { state in
                    state.topology == nil
                        ? RedisError(.timeout, command: Command.name, serverMessage: "no cluster slot map loaded yet")
                        : RedisError(.clusterDown, command: Command.name, serverMessage: "no healthy primary known for slot \(slot)")
                }
                try await pause(.milliseconds(50), before: deadline)
                continue
            }
            let error: RedisError
            do {
                return try await attempt(command, on: node, asking: asking, timeout: deadline - now)
            } catch let caught {
                error = caught
            }
            lastError = error
            switch error.code {
            case .moved, .ask:
                guard let next = ClusterRedirect(error, askedNode: node.configuration.endpoint) else { throw error }
                redirects += 1
                guard redirects <= maximumRedirects else {
                    throw RedisError(
                        .tooManyRedirects, command: Command.name,
                        serverMessage: "more than \(maximumRedirects) redirects for slot \(slot), last: \(next)",
                        underlying: error)
                }
                if next.kind == .moved { requestRefresh() }
                redirect = next
            case .tryAgain:
                redirect = nil
                try await pause(.milliseconds(20), before: deadline)
            case .clusterDown:
                redirect = nil
                requestRefresh()
                try await pause(.milliseconds(50), before: deadline)
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

    /// The client of the healthy primary serving `slot`, or nil if the map has none (or no map
    /// is known yet).
    private func route(_ slot: HashSlot) throws(RedisError) -> RedisClient? {
        let endpoint = try state.withLock { state throws(RedisError) -> RedisEndpoint? in
            guard !state.isShutDown else { throw RedisError(.shutdown) }
            return state.topology?.primary(forSlot: slot)?.endpoint
        }
        guard let endpoint else { return nil }
        return try client(for: endpoint)
    }

    /// Sends the command to `node`; after an `ASK`, as `ASKING` + command in one pipeline (one
    /// connection, contiguous), returning the command's reply.
    private func attempt<Command: RedisCommand>(
        _ command: Command, on node: RedisClient, asking: Bool, timeout: TimeAmount
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
    private func pause(_ amount: TimeAmount, before deadline: NIODeadline) async throws(RedisError) {
        let nanoseconds = min(amount.nanoseconds, (deadline - .now()).nanoseconds)
        guard nanoseconds > 0 else { return }
        do {
            try await Task.sleep(nanoseconds: UInt64(nanoseconds))
        } catch {
            throw RedisError(.cancelled)
        }
    }

    // MARK: Convenience

    /// The value at `key`, or nil.
    public func get(_ key: String, timeout: TimeAmount? = nil) async throws(RedisError) -> ByteBuffer? {
        try await send(GET(key), key: key, timeout: timeout)
    }

    /// Stores `value` at `key`; returns false when `condition` was not met.
    @discardableResult
    public func set(
        _ key: String, to value: some RESPArgument & Sendable, expiration: RedisExpiration? = nil,
        condition: RedisSetCondition? = nil, timeout: TimeAmount? = nil
    ) async throws(RedisError) -> Bool {
        try await send(SET(key, value, expiration: expiration, condition: condition), key: key, timeout: timeout)
    }

    /// The values at `keys`, nil where absent, in the order of `keys`.
    ///
    /// Keys are grouped by hash slot (`MGET` across slots is `CROSSSLOT`, even on one node); the
    /// groups are sent concurrently, so the groups bound for one node go out together on its
    /// auto-pipelining connections. Each group is routed and redirected on its own; the first
    /// group that fails fails the whole call. All within one deadline.
    public func mget(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> [ByteBuffer?] {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        let groups = Self.groupBySlot(keys)
        let replies = try await forEachGroup(groups, keys: keys) { (slot, groupKeys) async throws(RedisError) in
            try await self.send(MGET(groupKeys), slot: slot, deadline: deadline)
        }
        var values = [ByteBuffer?](repeating: nil, count: keys.count)
        for (slot, indices) in groups {
            guard let reply = replies[slot], reply.count == indices.count else {
                throw RedisError(.unexpectedReply, command: MGET.name, serverMessage: "MGET returned a wrong number of values")
            }
            for (index, value) in zip(indices, reply) { values[index] = value }
        }
        return values
    }

    /// Deletes `keys` (grouped by hash slot, groups sent concurrently); returns how many existed.
    @discardableResult
    public func delete(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> Int {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        let groups = Self.groupBySlot(keys)
        let counts = try await forEachGroup(groups, keys: keys) { (slot, groupKeys) async throws(RedisError) in
            try await self.send(DEL(groupKeys), slot: slot, deadline: deadline)
        }
        return counts.values.reduce(0, +)
    }

    /// The indices of `keys` per hash slot, in the caller's order within each slot.
    static func groupBySlot(_ keys: [String]) -> [HashSlot: [Int]] {
        var groups: [HashSlot: [Int]] = [:]
        for (index, key) in keys.enumerated() { groups[HashSlot(key: key), default: []].append(index) }
        return groups
    }

    /// Runs `body` for every slot group concurrently; throws the first failure.
    private func forEachGroup<Value: Sendable>(
        _ groups: [HashSlot: [Int]], keys: [String],
        _ body: @escaping @Sendable (HashSlot, [String]) async throws(RedisError) -> Value
    ) async throws(RedisError) -> [HashSlot: Value] {
        let outcomes = await withTaskGroup(of: (HashSlot, Result<Value, RedisError>).self) { group in
            for (slot, indices) in groups {
                let groupKeys = indices.map { keys[$0] }
                group.addTask {
                    do throws(RedisError) {
                        return (slot, .success(try await body(slot, groupKeys)))
                    } catch {
                        return (slot, .failure(error))
                    }
                }
            }
            var outcomes: [HashSlot: Result<Value, RedisError>] = [:]
            for await (slot, outcome) in group { outcomes[slot] = outcome }
            return outcomes
        }
        var values: [HashSlot: Value] = [:]
        for (slot, outcome) in outcomes {
            switch outcome {
            case .success(let value): values[slot] = value
            case .failure(let error): throw error
            }
        }
        return values
    }
}
