import NIOCore
import RESP

// One pipeline on a cluster client, free of I/O: which commands go to which node, what the
// cluster's replies mean for each, and when every command has its final result.
//
// A pipeline is cut into units that must reach one node together: a single command, or a
// transaction (`MULTI` ... `EXEC`/`DISCARD`), whose commands must share a slot. A unit whose keys
// span slots fails with `crossSlot` before anything is sent. Each round, the pending units are
// grouped by node (the slot map's owner, or the node a redirect named) into one batch per node,
// in the caller's order; the shell sends the batches concurrently, one pipeline per node, and
// feeds the replies back. A unit answered with `MOVED`/`ASK` goes to the named node next round
// (behind `ASKING` for an `ASK`; `ASKING` before `MULTI` covers the whole transaction, because
// Redis keeps the flag until `EXEC`); one answered with `TRYAGAIN`/`CLUSTERDOWN` goes by the map
// again after a pause. A transaction is redirected when a queued command was (its `EXEC` then
// fails with `EXECABORT` and nothing ran). Every other reply is final.

struct ClusterPipelineStateMachine {
    /// Commands that must reach one node together.
    struct Unit: Equatable {
        /// Indices into the caller's commands.
        var commands: Range<Int>
        /// Where the keys of all its commands send it.
        var placement: ClusterKeyPlacement
    }

    /// Where a pending unit goes next.
    enum Route: Hashable {
        /// To the owner of its slot in the current map.
        case map
        /// To the node a redirect named, after `ASKING` for an `ASK`.
        case node(RedisEndpoint, asking: Bool)
    }

    /// Units bound for one node, sent as one pipeline in the caller's order.
    struct Batch: Hashable {
        var endpoint: RedisEndpoint
        /// Whether each unit is preceded by `ASKING`.
        var asking: Bool
        /// Unit indices, ascending.
        var units: [Int]
    }

    enum Action: Equatable {
        /// Send these batches concurrently; `refresh` asks for a new slot map first.
        case send([Batch], refresh: Bool)
        /// Wait, then ask for the next action.
        case pause(TimeAmount, refresh: Bool)
        /// Every command has its result.
        case finished
    }

    let units: [Unit]
    let maximumRedirects: Int
    private var results: [Result<RESPToken, RedisError>?]
    private var pending: [Int: Route] = [:]
    private var redirects: [Int]
    private var lastErrors: [Int: RedisError] = [:]
    private var delay: TimeAmount?
    private var refreshWanted = false

    /// Cuts `commands` into units; units whose keys span slots fail at once.
    init(commands: [any RedisCommand], maximumRedirects: Int) {
        var units: [Unit] = []
        var index = 0
        while index < commands.count {
            var end = index + 1
            if Self.word(commands[index]) == "MULTI" {
                // The transaction runs to its EXEC or DISCARD (or to the end of the pipeline).
                while end < commands.count {
                    let word = Self.word(commands[end])
                    end += 1
                    if word == "EXEC" || word == "DISCARD" { break }
                }
            }
            let placement = commands[index..<end].reduce(ClusterKeyPlacement.anyPrimary) {
                $0.merged(with: ClusterKeyPlacement(keys: $1.keys))
            }
            units.append(Unit(commands: index..<end, placement: placement))
            index = end
        }
        self.units = units
        self.maximumRedirects = maximumRedirects
        self.results = Array(repeating: nil, count: commands.count)
        self.redirects = Array(repeating: 0, count: units.count)
        for (unit, description) in units.enumerated() {
            if description.placement == .crossSlot {
                let name = type(of: commands[description.commands.lowerBound]).name
                finish(unit, with: .crossSlot(command: name))
            } else {
                pending[unit] = .map
            }
        }
    }

    /// The command's name as sent (a raw command's first argument).
    static func word(_ command: any RedisCommand) -> String {
        (command as? RawCommand)?.commandName ?? type(of: command).name
    }

    /// The next step. `route` gives the node serving a slot (any primary for nil), or nil when
    /// the map has no healthy owner; such units wait for a later round.
    mutating func next(route owner: (HashSlot?) -> RedisEndpoint?) -> Action {
        if pending.isEmpty { return .finished }
        let refresh = refreshWanted
        refreshWanted = false
        if let delay {
            self.delay = nil
            return .pause(delay, refresh: refresh)
        }
        var batches: [Batch] = []
        var batchIndex: [Route: Int] = [:]
        var unroutable = false
        for unit in pending.keys.sorted() {
            var route = pending[unit] ?? .map
            if route == .map {
                guard let endpoint = owner(units[unit].placement.slot) else {
                    unroutable = true
                    continue
                }
                route = .node(endpoint, asking: false)
            }
            guard case .node(let endpoint, let asking) = route else { continue }
            if let index = batchIndex[route] {
                batches[index].units.append(unit)
            } else {
                batchIndex[route] = batches.count
                batches.append(Batch(endpoint: endpoint, asking: asking, units: [unit]))
            }
        }
        if batches.isEmpty { return .pause(ClusterErrorStep.clusterDownDelay, refresh: true) }
        return .send(batches, refresh: refresh || unroutable)
    }

    /// The replies of `batch` (without the `ASKING` replies), in order. Returns the cluster
    /// replies that were handled (to count), one per redirected or retried unit.
    mutating func received(_ replies: [Result<RESPToken, RedisError>], for batch: Batch) -> [RedisError.Code] {
        var handled: [RedisError.Code] = []
        var offset = 0
        for unit in batch.units {
            let range = units[unit].commands
            let slice = Array(replies[offset..<min(offset + range.count, replies.count)])
            offset += range.count
            guard slice.count == range.count else {
                finish(unit, with: RedisError(.unexpectedReply, serverMessage: "pipeline reply count mismatch"))
                continue
            }
            guard let error = clusterError(in: slice, isTransaction: range.count > 1) else {
                finish(unit, with: slice)
                continue
            }
            switch ClusterErrorStep(error, askedNode: batch.endpoint) {
            case .fail:
                finish(unit, with: slice)
            case .redirect(let redirect):
                handled.append(error.code)
                lastErrors[unit] = error
                redirects[unit] += 1
                guard redirects[unit] <= maximumRedirects else {
                    finish(unit, with: Self.tooManyRedirects(maximumRedirects, last: redirect, underlying: error))
                    continue
                }
                if redirect.kind == .moved { refreshWanted = true }
                pending[unit] = .node(redirect.endpoint, asking: redirect.kind == .ask)
            case .retry(let after, let refresh):
                handled.append(error.code)
                lastErrors[unit] = error
                pending[unit] = .map
                delay = max(delay ?? .zero, after)
                if refresh { refreshWanted = true }
            }
        }
        return handled
    }

    /// `batch` failed as a whole. With `reroute` (its node's client was retired by a map change,
    /// so nothing was sent) its units go by the map again; otherwise they fail with `error`
    /// (the commands may have run, so they are not resent).
    mutating func failed(_ error: RedisError, batch: Batch, reroute: Bool) {
        for unit in batch.units {
            redirects[unit] += 1
            if reroute, redirects[unit] <= maximumRedirects {
                lastErrors[unit] = error
                pending[unit] = .map
            } else {
                finish(unit, with: error)
            }
        }
        if [.connectionFailed, .connectionClosed, .circuitOpen].contains(error.code) { refreshWanted = true }
    }

    /// The deadline passed: every pending unit fails with its last cluster error, or `fallback`.
    mutating func expire(fallback: RedisError) {
        for unit in pending.keys { finish(unit, with: lastErrors[unit] ?? fallback) }
    }

    /// One result per command, in the caller's order (complete once ``next(route:)`` said `finished`).
    var finalResults: [Result<RESPToken, RedisError>] {
        results.map { $0 ?? .failure(RedisError(.timeout, command: "PIPELINE")) }
    }

    /// The cluster-level error a unit's replies carry, if any: a single command's error, or for a
    /// transaction the error of `EXEC`, looking through `EXECABORT` to the queued command whose
    /// redirect aborted it.
    private func clusterError(in replies: [Result<RESPToken, RedisError>], isTransaction: Bool) -> RedisError? {
        guard case .failure(let error) = replies.last else { return nil }
        guard isTransaction, error.code == .execAbort else { return error }
        for case .failure(let queued) in replies.dropFirst().dropLast() where [.moved, .ask, .tryAgain, .clusterDown].contains(queued.code) {
            return queued
        }
        return error
    }

    private static func tooManyRedirects(_ maximum: Int, last: ClusterRedirect, underlying: RedisError) -> RedisError {
        RedisError(
            .tooManyRedirects, command: underlying.command,
            serverMessage: "more than \(maximum) redirects for slot \(last.slot), last: \(last)", underlying: underlying)
    }

    private mutating func finish(_ unit: Int, with error: RedisError) {
        let range = units[unit].commands
        finish(unit, with: Array(repeating: .failure(error), count: range.count))
    }

    private mutating func finish(_ unit: Int, with replies: [Result<RESPToken, RedisError>]) {
        for (index, reply) in zip(units[unit].commands, replies) { results[index] = reply }
        pending[unit] = nil
    }
}
