import NIOCore

// Which replicas of a Sentinel-managed service may serve reads, free of I/O. The shell
// (SentinelReplicaReads) calls one method per event under its lock and performs the returned
// actions after releasing it; time comes in as explicit deadlines.
//
// A discovery round:
// 1. The schedule (a ClusterRefreshStateMachine: one at a time, coalescing, spacing, periodic,
//    backoff) says `startRefresh`; the shell asks a sentinel for the primary's address and
//    `SENTINEL REPLICAS` in one round trip, and reports `discovered` (or `discoveryFailed`).
// 2. Listed replicas that are healthy (not `s_down`/`o_down`/`disconnected`, link `ok`) and are
//    not the primary itself are checked with `ROLE` through their own client. Replicas no longer
//    listed healthy are retired (their clients shut down). A replica that was readable stays
//    readable while it is re-checked, unless the primary changed.
// 3. A replica becomes readable when `ROLE` says it replicates the current primary with its link
//    `connected`. The round ends when every check has reported.
// 4. A round is *unsettled* when a check failed, or a listed replica that is not down was
//    unhealthy (still syncing after a failover, or the sentinel not yet reconnected to it): it
//    counts as a failed refresh, so another round follows after a growing backoff. A replica
//    the sentinels consider down does not unsettle a round (after a failover the dead old
//    primary stays listed as `s_down` until it comes back).
//
// Events speed things up: `+switch-master` makes every replica unreadable until re-checked
// against the new primary; `+sdown` of a replica makes it unreadable at once; these and
// `-sdown`/`+slave` reset the backoff and request a round. A read that failed on a replica's
// connection makes it unreadable and requests a round. Results of an earlier round are ignored.

/// Decides which replicas serve reads and when to re-discover them.
struct SentinelReplicaStateMachine: Sendable {
    /// What the shell must do, all of it after releasing its lock.
    struct Actions: Hashable, Sendable {
        /// Replicas to check with `ROLE` (creating their clients first if there are none);
        /// report each with ``roleChecked(_:role:round:now:)`` or
        /// ``checkFailed(_:round:now:)`` and this round.
        var check: [RedisEndpoint] = []
        /// The round the checks belong to.
        var round = 0
        /// Replicas whose clients to shut down.
        var retire: [RedisEndpoint] = []
        /// Whether to discover now or arm a timer (see ``ClusterRefreshStateMachine/Action``).
        var schedule = ClusterRefreshStateMachine.Action.none

        static let none = Actions()
    }

    private enum Status: Hashable, Sendable {
        /// `ROLE` matched the current primary: serves reads.
        case readable
        /// Not (or no longer) known to replicate the current primary: serves no reads.
        case unreadable
    }

    /// The primary the last discovery named (or the last `+switch-master`).
    private(set) var primary: RedisEndpoint?
    /// Every replica the shell keeps a client for.
    private var replicas: [RedisEndpoint: Status] = [:]
    /// The readable replicas, sorted, for an O(1) random pick.
    private(set) var readable: [RedisEndpoint] = []
    private var schedule: ClusterRefreshStateMachine
    private var round = 0
    /// Checks of the current round that have not reported yet.
    private var awaiting: Set<RedisEndpoint> = []
    private var roundUnsettled = false

    /// A machine that has discovered nothing yet.
    init(configuration: ClusterRefreshStateMachine.Configuration, now: NIODeadline) {
        self.schedule = ClusterRefreshStateMachine(configuration: configuration, now: now)
    }

    /// Every replica with a client (readable or not).
    var knownReplicas: Set<RedisEndpoint> { Set(replicas.keys) }

    // MARK: Events

    /// The shell started: the first discovery is due.
    mutating func started(now: NIODeadline) -> Actions {
        Actions(schedule: schedule.refreshRequested(now: now))
    }

    /// A sentinel named `primary` and listed `entries` as its replicas.
    mutating func discovered(primary: RedisEndpoint, replicas entries: [SentinelReplicaEntry], now: NIODeadline) -> Actions {
        guard schedule.isRefreshing, awaiting.isEmpty else { return .none }
        round += 1
        roundUnsettled = false
        if primary != self.primary {
            self.primary = primary
            demoteAll()
        }
        var wanted = Set<RedisEndpoint>()
        for entry in entries where entry.endpoint != primary {
            if entry.isHealthy {
                wanted.insert(entry.endpoint)
            } else if !entry.isDown {
                roundUnsettled = true
            }
        }
        var actions = Actions(round: round)
        for endpoint in replicas.keys where !wanted.contains(endpoint) {
            replicas[endpoint] = nil
            actions.retire.append(endpoint)
        }
        for endpoint in wanted {
            if replicas[endpoint] == nil { replicas[endpoint] = .unreadable }
            awaiting.insert(endpoint)
        }
        actions.check = wanted.sorted(by: Self.order)
        actions.retire.sort(by: Self.order)
        updateReadable()
        if awaiting.isEmpty { actions.schedule = endRound(now: now) }
        return actions
    }

    /// No sentinel could be asked, or the reply was unusable.
    mutating func discoveryFailed(now: NIODeadline) -> Actions {
        guard awaiting.isEmpty else { return .none }
        return Actions(schedule: schedule.refreshFailed(now: now))
    }

    /// `ROLE` of `endpoint`, checked in `round`.
    mutating func roleChecked(_ endpoint: RedisEndpoint, role: SentinelNodeRole, round: Int, now: NIODeadline) -> Actions {
        guard round == self.round, awaiting.remove(endpoint) != nil else { return .none }
        if let primary, role == .replica(of: primary, linkUp: true) {
            if replicas[endpoint] != nil { replicas[endpoint] = .readable }
        } else {
            if replicas[endpoint] != nil { replicas[endpoint] = .unreadable }
            roundUnsettled = true
        }
        updateReadable()
        return awaiting.isEmpty ? Actions(schedule: endRound(now: now)) : .none
    }

    /// The `ROLE` check of `endpoint` in `round` failed (unreachable, timed out, refused).
    mutating func checkFailed(_ endpoint: RedisEndpoint, round: Int, now: NIODeadline) -> Actions {
        roleChecked(endpoint, role: .other, round: round, now: now)
    }

    /// `+switch-master`: until re-checked, no replica is known to follow the new primary.
    mutating func primarySwitched(to primary: RedisEndpoint, now: NIODeadline) -> Actions {
        if primary != self.primary {
            self.primary = primary
            demoteAll()
        }
        return newsArrived(now: now)
    }

    /// `+sdown` of a replica: it serves no more reads; the list is re-read.
    mutating func replicaDown(_ endpoint: RedisEndpoint, now: NIODeadline) -> Actions {
        if replicas[endpoint] != nil { replicas[endpoint] = .unreadable }
        updateReadable()
        return newsArrived(now: now)
    }

    /// `-sdown`, `+slave`, or a gap in the event subscription: the list is re-read soon.
    mutating func replicasChanged(now: NIODeadline) -> Actions {
        newsArrived(now: now)
    }

    /// A read on `endpoint` failed on its connection: it serves no more reads until re-checked.
    mutating func readFailed(_ endpoint: RedisEndpoint, now: NIODeadline) -> Actions {
        guard replicas[endpoint] == .readable else { return .none }
        replicas[endpoint] = .unreadable
        updateReadable()
        return Actions(schedule: schedule.refreshRequested(now: now))
    }

    /// The timer armed by an earlier action fired.
    mutating func timerFired(now: NIODeadline) -> Actions {
        Actions(schedule: schedule.timerFired(now: now))
    }

    /// Stops everything: every replica client is retired, later events do nothing.
    mutating func shutdown() -> Actions {
        schedule.shutdown()
        let retired = replicas.keys.sorted(by: Self.order)
        replicas = [:]
        awaiting = []
        readable = []
        return Actions(retire: retired)
    }

    // MARK: Helpers

    private mutating func newsArrived(now: NIODeadline) -> Actions {
        let reset = schedule.backoffReset(now: now)
        let requested = schedule.refreshRequested(now: now)
        return Actions(schedule: requested == .none ? reset : requested)
    }

    private mutating func demoteAll() {
        for endpoint in replicas.keys { replicas[endpoint] = .unreadable }
        updateReadable()
    }

    private mutating func endRound(now: NIODeadline) -> ClusterRefreshStateMachine.Action {
        roundUnsettled ? schedule.refreshFailed(now: now) : schedule.refreshSucceeded(now: now)
    }

    private mutating func updateReadable() {
        readable = replicas.filter { $0.value == .readable }.keys.sorted(by: Self.order)
    }

    private static func order(_ a: RedisEndpoint, _ b: RedisEndpoint) -> Bool {
        (a.host, a.port) < (b.host, b.port)
    }
}
