public import NIOCore
public import RESP

// The cluster client as a RedisCommandExecutor: the typed commands, convenience methods, scripts
// (`run`) and transactions (`transaction(_:)`) written once for every executor work here too.
// A command is routed by its `keys`; `MGET`/`DEL`/`UNLINK`/`EXISTS` across slots are split by
// slot, run concurrently and reassembled; any other command across slots is refused before it is
// sent. Pipelines are split by node with ClusterPipelineStateMachine.

extension RedisClusterClient: RedisCommandExecutor {
    /// Sends one command to the primary serving its keys' hash slot, following redirects.
    ///
    /// The slot comes from the command's ``RedisCommand/keys``; a command without keys goes to
    /// any primary. `MGET`, `DEL`, `UNLINK` and `EXISTS` whose keys span slots are split into one
    /// command per slot, sent concurrently (the parts bound for one node share its pipelining
    /// connections) and combined in the caller's key order; the split command is not atomic, and
    /// the first part that fails fails the call. Any other command whose keys span slots is
    /// refused with `crossSlot` before anything is sent.
    ///
    /// - Parameter timeout: covers routing, every redirect and retry, and the round trips;
    ///   defaults to the configuration's `commandTimeout`.
    /// - Throws: ``RedisError``: `crossSlot` (nothing sent); the server's error;
    ///   `tooManyRedirects`; the last `CLUSTERDOWN`, refresh failure or `timeout` at the deadline
    ///   (see ``send(_:key:timeout:)``).
    public func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount?) async throws(RedisError) -> Command.Response {
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        switch ClusterKeyPlacement(keys: command.keys) {
        case .anyPrimary:
            return try await send(command, slot: nil, deadline: deadline)
        case .slot(let slot):
            return try await send(command, slot: slot, deadline: deadline)
        case .crossSlot:
            guard let splittable = command as? any SlotSplittableCommand else { throw .crossSlot(command: Command.name) }
            let combined = try await sendSplit(splittable, deadline: deadline)
            guard let response = combined as? Command.Response else {
                throw RedisError(.unexpectedReply, command: Command.name, serverMessage: "split reply of another type")
            }
            return response
        }
    }

    /// Sends several commands, one pipeline per node, and returns one result per command in the
    /// caller's order.
    ///
    /// Commands are grouped by the node serving their keys' slot; the groups are sent
    /// concurrently, each as one pipeline, so commands of one slot run in the caller's order —
    /// except that a command answered with `MOVED`/`ASK`/`TRYAGAIN`/`CLUSTERDOWN` is resent after
    /// the others of its round. A `MULTI` ... `EXEC` run (as ``transaction(_:timeout:)`` sends)
    /// travels as one unit; its commands must share a slot. A command or transaction whose keys
    /// span slots gets a `crossSlot` failure and is not sent (multi-key commands are not split
    /// inside a pipeline). Failures are per command: a node that cannot be reached fails only
    /// the commands bound for it.
    ///
    /// - Parameter timeout: covers every round; commands still unanswered at the deadline fail
    ///   with their last cluster error or `timeout`.
    /// - Throws: ``RedisError`` `shutdown` after ``shutdown()``, `cancelled` when the task is.
    public func pipeline(_ commands: [any RedisCommand], timeout: TimeAmount?) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        guard !commands.isEmpty else { return [] }
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        var machine = ClusterPipelineStateMachine(commands: commands, maximumRedirects: maximumRedirects)
        while true {
            let topology = try state.withLock { state throws(RedisError) -> ClusterTopology? in
                guard !state.isShutDown else { throw RedisError(.shutdown) }
                return state.topology
            }
            let anyPrimary = topology.flatMap { Self.endpoint(for: nil, in: $0) }
            let action = machine.next { slot in
                slot == nil ? anyPrimary : topology.flatMap { Self.endpoint(for: slot, in: $0) }
            }
            if action == .finished { return machine.finalResults }
            guard NIODeadline.now() < deadline else {
                let fallback = topology == nil
                    ? RedisError(.timeout, command: "PIPELINE", serverMessage: "no cluster slot map loaded yet")
                    : RedisError(.timeout, command: "PIPELINE")
                machine.expire(fallback: lastRefreshError ?? fallback)
                return machine.finalResults
            }
            switch action {
            case .finished:
                return machine.finalResults
            case .pause(let delay, let refresh):
                if refresh { requestRefresh() }
                try await pause(delay, before: deadline)
            case .send(let batches, let refresh):
                if refresh { requestRefresh() }
                for (batch, outcome) in await sendBatches(batches, commands: commands, units: machine.units, deadline: deadline) {
                    switch outcome {
                    case .success(let replies):
                        for code in machine.received(replies, for: batch) { counters.record(code) }
                    case .failure(let error):
                        let retired = error.code == .shutdown && !state.withLock { $0.isShutDown }
                        machine.failed(error, batch: batch, reroute: retired)
                    }
                }
            }
        }
    }

    /// Sends each batch as one pipeline on its node's client, concurrently; `ASKING` replies are
    /// dropped from the results.
    private func sendBatches(
        _ batches: [ClusterPipelineStateMachine.Batch], commands: [any RedisCommand],
        units: [ClusterPipelineStateMachine.Unit], deadline: NIODeadline
    ) async -> [(ClusterPipelineStateMachine.Batch, Result<[Result<RESPToken, RedisError>], RedisError>)] {
        await withTaskGroup(of: (ClusterPipelineStateMachine.Batch, Result<[Result<RESPToken, RedisError>], RedisError>).self) { group in
            for batch in batches {
                var batchCommands: [any RedisCommand] = []
                for unit in batch.units {
                    if batch.asking { batchCommands.append(RawCommand(["ASKING"])) }
                    batchCommands.append(contentsOf: commands[units[unit].commands])
                }
                group.addTask {
                    do throws(RedisError) {
                        let node = try self.client(for: batch.endpoint)
                        let replies = try await node.pipeline(batchCommands, timeout: deadline - .now())
                        guard batch.asking else { return (batch, .success(replies)) }
                        // Drop each unit's leading ASKING reply.
                        var kept: [Result<RESPToken, RedisError>] = []
                        var index = 0
                        for unit in batch.units where index < replies.count {
                            let count = units[unit].commands.count
                            kept.append(contentsOf: replies[(index + 1)..<min(index + 1 + count, replies.count)])
                            index += 1 + count
                        }
                        return (batch, .success(kept))
                    } catch {
                        return (batch, .failure(error))
                    }
                }
            }
            var outcomes: [(ClusterPipelineStateMachine.Batch, Result<[Result<RESPToken, RedisError>], RedisError>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    /// Runs `command` once per hash slot of its keys, concurrently, and combines the replies.
    private func sendSplit<Command: SlotSplittableCommand>(
        _ command: Command, deadline: NIODeadline
    ) async throws(RedisError) -> Command.Response {
        let keys = command.keys
        let groups = Self.groupBySlot(keys)
        let parts = try await forEachGroup(groups, keys: keys) { (slot, groupKeys) async throws(RedisError) in
            try await self.send(command.restricted(to: groupKeys), slot: slot, deadline: deadline)
        }
        return try Command.combine(
            groups.compactMap { slot, positions in parts[slot].map { (positions: positions, response: $0) } },
            keyCount: keys.count
        )
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

    // MARK: Convenience with a deadline

    /// The value at `key`, or nil.
    public func get(_ key: String, timeout: TimeAmount? = nil) async throws(RedisError) -> ByteBuffer? {
        try await send(GET(key), timeout: timeout)
    }

    /// Stores `value` at `key`; returns false when `condition` was not met.
    @discardableResult
    public func set(
        _ key: String, to value: some RESPArgument & Sendable, expiration: RedisExpiration? = nil,
        condition: RedisSetCondition? = nil, timeout: TimeAmount? = nil
    ) async throws(RedisError) -> Bool {
        try await send(SET(key, value, expiration: expiration, condition: condition), timeout: timeout)
    }

    /// The values at `keys`, nil where absent, in the order of `keys` (split by slot; see
    /// ``send(_:timeout:)``).
    public func mget(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> [ByteBuffer?] {
        guard !keys.isEmpty else { return [] }
        return try await send(MGET(keys), timeout: timeout)
    }

    /// Deletes `keys` (split by slot); returns how many existed.
    @discardableResult
    public func delete(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await send(DEL(keys), timeout: timeout)
    }

    /// Unlinks `keys` (split by slot; memory is reclaimed in the background); returns how many existed.
    @discardableResult
    public func unlink(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await send(UNLINK(keys), timeout: timeout)
    }

    /// How many of `keys` exist (split by slot; a key given twice counts twice).
    public func exists(_ keys: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await send(EXISTS(keys), timeout: timeout)
    }
}
