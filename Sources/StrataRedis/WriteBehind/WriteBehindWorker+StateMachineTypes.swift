/// The inputs and outputs of ``WriteBehindStateMachine``.
extension WriteBehindStateMachine {
    /// The worker's settings the decisions depend on (see ``WriteBehindWorker/Configuration``).
    struct Configuration: Sendable, Hashable {
        /// Partition streams, numbered from 0.
        var partitions: Int
        /// Deliveries after which a failing entry is dead-lettered.
        var maximumDeliveries: Int
        /// The first pause before a failed entry is delivered again.
        var retryDelay: Duration
        /// The cap of the doubling retry pause.
        var maximumRetryDelay: Duration
        /// The pause between two sweeps for other workers' idle entries.
        var claimInterval: Duration
        /// How often held entries' idle times are reset, so no other worker takes them over
        /// while this one is alive (a third of the claim idle time).
        var heartbeatInterval: Duration
        /// New entries asked for per partition per read.
        var readCount: Int
        /// The longest read block when nothing is being applied.
        var maximumBlock: Duration
        /// The longest read block while applies run, so their completions are acknowledged soon.
        var maximumBlockWhileApplying: Duration
        /// Reads stop while this many entries are held.
        var maximumBuffered: Int
        /// Applies running at once (each of a different key).
        var maximumConcurrentApplies: Int
        /// Acknowledgements sent at once, at most (and sent as soon as this many wait).
        var acknowledgeBatch: Int
        /// The longest an acknowledgement waits to join a batch while applies keep coming.
        var acknowledgeDelay: Duration
        /// The pause between two backlog samples.
        var metricsInterval: Duration
        /// The first pause after failed I/O.
        var ioBackoff: Duration
        /// The cap of the doubling pause after failed I/O.
        var maximumIOBackoff: Duration
    }

    /// An entry to move to the dead-letter stream (acknowledged and deleted in the same script).
    struct DeadLetter: Sendable, Hashable {
        var id: String
        var fields: [WriteBehindRawField]
        var reason: WriteBehindDeadLetterReason
        var deliveries: Int

    }

    enum Action: Sendable, Hashable {
        /// Create the consumer group on every partition (`XGROUP CREATE … 0 MKSTREAM`), which an
        /// existing group survives.
        case createGroups
        /// `XREADGROUP … BLOCK block STREAMS <all> > …` with `COUNT count` per stream.
        case read(count: Int, block: Duration)
        /// `XAUTOCLAIM` one page of a partition from `start`, then read the claimed entries'
        /// delivery counts.
        case claimAbandoned(partition: Int, start: String)
        /// `XCLAIM` this worker's own failed entries again, those still pending for it (counts
        /// one more delivery each).
        case redeliver(partition: Int, ids: [String])
        /// Reset the idle time of the entries this worker holds and still owns (`XCLAIM …
        /// JUSTID`, which counts no delivery).
        case heartbeat(partition: Int, ids: [String])
        /// Start `apply` for these entries (distinct keys) without waiting for them; each
        /// outcome comes back through ``applied(_:now:)``.
        case apply([WriteBehindEntry])
        /// `XACK` and `XDEL` these ids.
        case acknowledge(partition: Int, ids: [String])
        /// Move these entries to the partition's dead-letter stream.
        case deadLetter(partition: Int, [DeadLetter])
        /// Read the backlog gauges (`XINFO GROUPS`).
        case sampleBacklog
        /// Nothing to do for this long, unless an apply completes first.
        case wait(Duration)
        /// Shutdown: everything completed was acknowledged; stop.
        case finish
    }

    /// What happened to an applied entry.
    struct ApplyResult: Sendable, Hashable {
        var id: String
        var key: String
        var succeeded: Bool
    }
}

extension WriteBehindStateMachine.DeadLetter {
    /// The dead letter of a readable entry: its key, version and payload as queued.
    init(_ entry: WriteBehindEntry, reason: WriteBehindDeadLetterReason) {
        self.init(
            id: entry.id,
            fields: [
                WriteBehindRawField(name: WriteBehindField.key, value: Array(entry.key.utf8)),
                WriteBehindRawField(name: WriteBehindField.version, value: Array(String(entry.version).utf8)),
                WriteBehindRawField(name: WriteBehindField.payload, value: entry.payload),
            ],
            reason: reason, deliveries: entry.deliveryCount)
    }
}
