public import NIOCore

// Optimistic transactions on a cluster. WATCH is connection state, so the transaction runs on a
// dedicated connection to the node serving the watched keys' slot, like RedisClient's. WATCH is
// the only step that is retried after a redirect: nothing has run yet. Once the body ran, a
// redirect aborts the transaction (EXECABORT, nothing applied), which is what a watched key that
// moved away means anyway, so it is reported as `aborted` and the caller's retry goes to the new
// owner. Transactions without WATCH go through the pipeline as one unit
// (see ClusterPipelineStateMachine).

extension RedisClusterClient {
    /// Runs an optimistic transaction on the node serving the watched keys: `WATCH keys`, then
    /// `body` (reads through ``RedisTransaction/connection``, writes queued with
    /// ``RedisTransaction/queue(_:)``), then `MULTI`, the queued commands and `EXEC`.
    ///
    /// Every watched key and every key of a queued command must share one hash slot (give them a
    /// hash tag); otherwise the call throws `crossSlot` before `MULTI` is sent (and before
    /// anything at all when the watched keys disagree). `WATCH` follows `MOVED` and waits out
    /// `ASK`/`TRYAGAIN`/`CLUSTERDOWN` within `timeout`. If the slot moves after `WATCH`, the
    /// transaction does not run and the outcome is ``RedisTransactionOutcome/aborted``, like any
    /// watched change: read again and retry (the map is being refreshed, so the retry goes to the
    /// new owner).
    ///
    /// Costs a TCP connect and handshake to the node per call, like
    /// ``RedisClient/transaction(watching:timeout:_:)``.
    ///
    /// - Parameters:
    ///   - keys: watched before `body` runs; at least one (it picks the node).
    ///   - timeout: the deadline for finding the node and watching, and of each later round trip.
    ///   - body: reads through the transaction's connection and queues commands.
    /// - Throws: `crossSlot` as above (also for no watched keys); what `body` throws; the
    ///   errors of ``RedisClient/transaction(watching:timeout:_:)``.
    public func transaction(
        watching keys: [String], timeout: TimeAmount? = nil, _ body: (inout RedisTransaction) async throws -> Void
    ) async throws -> RedisTransactionOutcome {
        guard case .slot(let slot) = ClusterKeyPlacement(keys: keys) else { throw RedisError.crossSlot(command: WATCH.name) }
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        var target: RedisEndpoint?
        var redirects = 0
        while true {
            let node = try await watchNode(for: slot, redirectedTo: target, deadline: deadline)
            let attempt = try await node.withDedicatedConnection { connection async throws -> WatchAttempt in
                do {
                    _ = try await connection.send(WATCH(keys), timeout: deadline - .now())
                } catch let error as RedisError {
                    return .watchFailed(error)
                }
                var transaction = RedisTransaction(connection: connection)
                do {
                    try await body(&transaction)
                } catch {
                    _ = try? await connection.send(UNWATCH(), timeout: timeout)
                    throw error
                }
                let queued = transaction.commands.reduce(ClusterKeyPlacement.slot(slot)) {
                    $0.merged(with: ClusterKeyPlacement(keys: $1.keys))
                }
                guard queued == .slot(slot) else {
                    _ = try? await connection.send(UNWATCH(), timeout: timeout)
                    throw RedisError.crossSlot(command: "MULTI")
                }
                guard !transaction.commands.isEmpty else {
                    _ = try await connection.send(UNWATCH(), timeout: timeout)
                    return .done(.committed([]))
                }
                do {
                    return .done(try await connection.transaction(transaction.commands, timeout: timeout))
                } catch let error as RedisError where error.code == .execAbort {
                    guard let cause = error.underlying as? RedisError, case .redirect = ClusterErrorStep(cause, askedNode: node.configuration.endpoint)
                    else { throw error }
                    self.counters.record(cause.code)
                    self.requestRefresh()
                    return .done(.aborted)
                }
            }
            switch attempt {
            case .done(let outcome):
                return outcome
            case .watchFailed(let error):
                switch ClusterErrorStep(error, askedNode: node.configuration.endpoint) {
                case .fail:
                    throw error
                case .redirect(let redirect) where redirect.kind == .moved:
                    counters.record(error.code)
                    redirects += 1
                    guard redirects <= maximumRedirects else {
                        throw RedisError(.tooManyRedirects, command: WATCH.name, underlying: error)
                    }
                    requestRefresh()
                    target = redirect.endpoint
                case .redirect:
                    // ASK: the slot is migrating; WATCH cannot follow it (ASKING lasts one command),
                    // so wait for the migration to settle like TRYAGAIN.
                    counters.record(error.code)
                    target = nil
                    try await pause(ClusterErrorStep.tryAgainDelay, before: deadline)
                case .retry(let delay, let refresh):
                    counters.record(error.code)
                    target = nil
                    if refresh { requestRefresh() }
                    try await pause(delay, before: deadline)
                }
                guard NIODeadline.now() < deadline else { throw error }
            }
        }
    }

    private enum WatchAttempt: Sendable {
        case done(RedisTransactionOutcome)
        case watchFailed(RedisError)
    }

    /// The client for the node a redirect named, or the slot's owner once the map has one.
    private func watchNode(for slot: HashSlot, redirectedTo target: RedisEndpoint?, deadline: NIODeadline) async throws(RedisError) -> RedisClient {
        if let target { return try client(for: target) }
        while true {
            if let node = try route(slot) { return node }
            guard NIODeadline.now() < deadline else {
                throw lastRefreshError ?? RedisError(.clusterDown, command: WATCH.name, serverMessage: Self.unroutableMessage(slot))
            }
            requestRefresh()
            try await pause(ClusterErrorStep.clusterDownDelay, before: deadline)
        }
    }
}
