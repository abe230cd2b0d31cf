/// The worker's decisions, without I/O: what to read, claim, apply, acknowledge and move aside.
///
/// The worker loop is strictly sequential: it asks ``next(now:)`` for one action, performs it,
/// and reports the outcome as an event before asking again. Time is a `Duration` since the
/// worker started, passed in by the shell, so every timer path is testable without sleeping.
///
/// Per-key order. Entries of one key sit in one FIFO, sorted by stream id (a key always maps to
/// one partition, so its ids are comparable). Only the head of a key's FIFO is ever applied, and
/// the next entry waits until the head was applied or moved aside. A failing head therefore
/// holds back later writes of its own key only: other keys' heads keep being applied. A head
/// that keeps failing is retried (redelivered through `XCLAIM`, which counts deliveries) until
/// its delivery count reaches ``Configuration/maximumDeliveries``, then dead-lettered, which
/// releases the key; so no key waits longer than the retry schedule of `maximumDeliveries`.
///
/// Ownership. Every entry this worker holds (queued, being applied, waiting for a retry) is
/// claimed again with `JUSTID` every ``Configuration/heartbeatInterval``, which resets its idle
/// time without counting a delivery, so other workers' `XAUTOCLAIM` sweeps take over only the
/// entries of workers that stopped. An entry the heartbeat finds gone (this worker stalled and
/// another took it over, or settled it) is forgotten unless its apply is running.
struct WriteBehindStateMachine: Sendable {
    private enum KeyState: Hashable {
        case applying
        case waitingForRetry
        case redelivering
    }

    private struct Retry: Hashable {
        var due: Duration
        var key: String
    }

    /// An entry by partition and id: ids are unique per stream only.
    private struct EntryReference: Hashable {
        var partition: Int
        var id: String
    }

    let configuration: Configuration
    private var queues: [String: [WriteBehindEntry]] = [:]
    private var keyStates: [String: KeyState] = [:]
    private var runnable: [String] = []
    private var applying = 0
    /// Every entry delivered to this worker and not yet settled, with its key.
    private var held: [EntryReference: String] = [:]
    private var retries: [Retry] = []
    private var acknowledgements: [Int: [String]] = [:]
    private var acknowledgementsWaitingSince: Duration?
    private var deadLetters: [Int: [DeadLetter]] = [:]
    private var nextClaim: Duration
    private var nextHeartbeat: Duration
    private var heartbeatPartitions: [Int] = []
    private var claimCursors: [Int: String] = [:]
    private var nextSample: Duration = .zero
    private var ioPausedUntil: Duration?
    private var ioFailures = 0
    private var shuttingDown = false
    private var groupsReady = false

    /// The first abandoned-entry sweep runs at once: a restarted worker picks up what a crashed
    /// one left as soon as Redis considers it idle.
    init(configuration: Configuration) {
        self.configuration = configuration
        self.nextClaim = .zero
        self.nextHeartbeat = configuration.heartbeatInterval
    }

    /// Entries delivered to this worker and not yet acknowledged or moved aside.
    var bufferedCount: Int { held.count }

    /// Entries whose `apply` is running.
    var applyingCount: Int { applying }

    // MARK: - Deciding

    /// The next action at `now`. Emitting an action records it (keys being applied are busy,
    /// acknowledgements being sent leave the to-do list) until its outcome event arrives.
    mutating func next(now: Duration) -> Action {
        let ioAllowed = ioPausedUntil.map { now >= $0 } ?? true
        if ioAllowed, let letters = takeDeadLetters() { return letters }
        let acknowledgementCount = acknowledgements.values.reduce(0) { $0 + $1.count }
        let canApply = !runnable.isEmpty && applying < configuration.maximumConcurrentApplies
        let acknowledgementsDue = acknowledgementsWaitingSince.map { now - $0 >= configuration.acknowledgeDelay } ?? false
        if ioAllowed, acknowledgementCount > 0,
            !canApply || acknowledgementsDue || acknowledgementCount >= configuration.acknowledgeBatch,
            let acknowledge = takeAcknowledgements()
        {
            return acknowledge
        }
        if shuttingDown {
            if canApply { return takeApplies() }
            if applying > 0 { return .wait(configuration.maximumBlock) }
            if acknowledgementCount > 0 || deadLetters.values.contains(where: { !$0.isEmpty }) {
                return .wait(max((ioPausedUntil ?? now) - now, .milliseconds(1)))
            }
            return .finish
        }
        if ioAllowed, let heartbeat = takeHeartbeat(now: now) { return heartbeat }
        if ioAllowed, let redeliver = takeDueRetries(now: now) { return redeliver }
        if canApply { return takeApplies() }
        if ioAllowed, !groupsReady { return .createGroups }
        if ioAllowed {
            if now >= nextSample {
                nextSample = now + configuration.metricsInterval
                return .sampleBacklog
            }
            if held.count < configuration.maximumBuffered {
                if claimCursors.isEmpty, now >= nextClaim {
                    nextClaim = now + configuration.claimInterval
                    for partition in 0..<configuration.partitions { claimCursors[partition] = "0-0" }
                }
                if let cursor = claimCursors.min(by: { $0.key < $1.key }) {
                    return .claimAbandoned(partition: cursor.key, start: cursor.value)
                }
                let room = configuration.maximumBuffered - held.count
                let count = max(1, min(configuration.readCount, room / configuration.partitions))
                let longest = applying > 0 ? configuration.maximumBlockWhileApplying : configuration.maximumBlock
                let block = min(max(nextTimer(now: now) - now, .milliseconds(1)), longest)
                return .read(count: count, block: block)
            }
        }
        return .wait(max(nextTimer(now: now) - now, .milliseconds(1)))
    }

    private func nextTimer(now: Duration) -> Duration {
        var earliest = now + configuration.maximumBlock
        if let due = retries.map(\.due).min() { earliest = min(earliest, due) }
        earliest = min(earliest, nextClaim, nextSample, nextHeartbeat)
        if let ioPausedUntil, ioPausedUntil > now { earliest = min(earliest, ioPausedUntil) }
        return max(earliest, now)
    }

    private mutating func takeDeadLetters() -> Action? {
        guard let partition = deadLetters.keys.filter({ deadLetters[$0]?.isEmpty == false }).min() else { return nil }
        let letters = deadLetters.removeValue(forKey: partition) ?? []
        return .deadLetter(partition: partition, letters)
    }

    private mutating func takeAcknowledgements() -> Action? {
        guard let partition = acknowledgements.keys.filter({ acknowledgements[$0]?.isEmpty == false }).min() else {
            return nil
        }
        let ids = acknowledgements.removeValue(forKey: partition) ?? []
        if acknowledgements.values.allSatisfy(\.isEmpty) { acknowledgementsWaitingSince = nil }
        return .acknowledge(partition: partition, ids: ids)
    }

    private mutating func takeHeartbeat(now: Duration) -> Action? {
        if heartbeatPartitions.isEmpty, now >= nextHeartbeat {
            nextHeartbeat = now + configuration.heartbeatInterval
            heartbeatPartitions = Set(held.keys.map(\.partition)).sorted()
        }
        guard !heartbeatPartitions.isEmpty else { return nil }
        let partition = heartbeatPartitions.removeFirst()
        let ids = held.keys.filter { $0.partition == partition }.map(\.id).sorted(by: StreamEntryID.precedes)
        return ids.isEmpty ? nil : .heartbeat(partition: partition, ids: ids)
    }

    private mutating func takeDueRetries(now: Duration) -> Action? {
        let due = retries.filter { $0.due <= now }
        guard let first = due.min(by: { $0.due < $1.due }), let partition = queues[first.key]?.first?.partition else {
            return nil
        }
        var ids: [String] = []
        for retry in due {
            guard let head = queues[retry.key]?.first, head.partition == partition else { continue }
            ids.append(head.id)
            keyStates[retry.key] = .redelivering
        }
        let states = keyStates
        retries.removeAll { $0.due <= now && states[$0.key] == .redelivering }
        return .redeliver(partition: partition, ids: ids)
    }

    private mutating func takeApplies() -> Action {
        let count = min(runnable.count, configuration.maximumConcurrentApplies - applying)
        applying += count
        let keys = runnable.prefix(count)
        runnable.removeFirst(count)
        var entries: [WriteBehindEntry] = []
        entries.reserveCapacity(count)
        for key in keys {
            guard let head = queues[key]?.first else { continue }
            keyStates[key] = .applying
            entries.append(head)
        }
        return .apply(entries)
    }

    // MARK: - Events

    /// New entries from `XREADGROUP … >` (each delivered once so far).
    mutating func read(_ deliveries: [WriteBehindDelivery]) {
        ioSucceeded()
        for delivery in deliveries { accept(delivery) }
    }

    /// One `XAUTOCLAIM` page: entries taken over from idle consumers, with their delivery counts
    /// (this claim included), and where the scan continues (`0-0`: the partition is done).
    mutating func claimed(partition: Int, _ deliveries: [WriteBehindDelivery], nextStart: String) {
        ioSucceeded()
        if nextStart == "0-0" {
            claimCursors[partition] = nil
        } else {
            claimCursors[partition] = nextStart
        }
        for delivery in deliveries { accept(delivery) }
    }

    /// `XCLAIM` of this worker's failed entries returned `returned` of the requested ids; each
    /// counts one more delivery. An id not returned is no longer this worker's (another worker
    /// took it over or acknowledged it): forget it and release its key.
    mutating func redelivered(partition: Int, requested: [String], returned: Set<String>) {
        ioSucceeded()
        for id in requested {
            guard let key = key(ofHead: id, partition: partition), keyStates[key] == .redelivering else { continue }
            if returned.contains(id) {
                queues[key]?[0].deliveryCount += 1
                keyStates[key] = nil
                runnable.append(key)
            } else {
                releaseHead(of: key)
            }
        }
    }

    /// A heartbeat found `owned` of the `requested` ids still pending for this worker. The
    /// others were taken over (this worker stalled past the claim idle time) or settled by
    /// another worker: forget them, except those being applied or redelivered right now, whose
    /// outcome settles them.
    mutating func heartbeatCompleted(partition: Int, requested: [String], owned: Set<String>) {
        ioSucceeded()
        for id in requested where !owned.contains(id) {
            forget(EntryReference(partition: partition, id: id))
        }
    }

    /// The outcomes of an ``Action/apply(_:)``.
    mutating func applied(_ results: [ApplyResult], now: Duration) {
        for result in results {
            guard let head = queues[result.key]?.first, head.id == result.id, keyStates[result.key] == .applying else {
                continue
            }
            applying -= 1
            if result.succeeded {
                acknowledgements[head.partition, default: []].append(head.id)
                if acknowledgementsWaitingSince == nil { acknowledgementsWaitingSince = now }
                releaseHead(of: result.key)
            } else if head.deliveryCount >= configuration.maximumDeliveries {
                deadLetters[head.partition, default: []].append(DeadLetter(head, reason: .applyFailed))
                releaseHead(of: result.key)
            } else {
                keyStates[result.key] = .waitingForRetry
                retries.append(Retry(due: now + retryDelay(afterDelivery: head.deliveryCount), key: result.key))
            }
        }
    }

    /// The delay before the next delivery of an entry that failed on delivery `delivery`:
    /// doubling from ``Configuration/retryDelay``, capped at ``Configuration/maximumRetryDelay``.
    func retryDelay(afterDelivery delivery: Int) -> Duration {
        var delay = configuration.retryDelay
        var step = 1
        while step < delivery, delay < configuration.maximumRetryDelay {
            delay *= 2
            step += 1
        }
        return min(delay, configuration.maximumRetryDelay)
    }

    /// An ``Action/acknowledge(partition:ids:)`` failed: the ids are sent again after a pause.
    mutating func acknowledgeFailed(partition: Int, ids: [String], now: Duration) {
        acknowledgements[partition, default: []].insert(contentsOf: ids, at: 0)
        if acknowledgementsWaitingSince == nil { acknowledgementsWaitingSince = now }
        ioFailed(now: now)
    }

    /// An ``Action/deadLetter(partition:_:)`` failed for `remaining`: they are sent again after a
    /// pause.
    mutating func deadLetterFailed(partition: Int, remaining: [DeadLetter], now: Duration) {
        deadLetters[partition, default: []].insert(contentsOf: remaining, at: 0)
        ioFailed(now: now)
    }

    /// An ``Action/redeliver(partition:ids:)`` failed: the entries wait for another retry.
    mutating func redeliverFailed(partition: Int, requested: [String], now: Duration) {
        for id in requested {
            guard let key = key(ofHead: id, partition: partition), keyStates[key] == .redelivering else { continue }
            keyStates[key] = .waitingForRetry
            retries.append(Retry(due: now, key: key))
        }
        ioFailed(now: now)
    }

    /// The consumer groups exist on every partition.
    mutating func groupsCreated() {
        groupsReady = true
        ioSucceeded()
    }

    /// Redis answered `NOGROUP` (a stream or group was deleted, or Redis lost its data): create
    /// the groups again before the next read or claim.
    mutating func groupMissing(now: Duration) {
        groupsReady = false
        ioFailed(now: now)
    }

    /// A read, claim or sample failed (Redis down, restarting, timed out): pause I/O, doubling.
    mutating func ioFailed(now: Duration) {
        var pause = configuration.ioBackoff
        var step = 0
        while step < ioFailures, pause < configuration.maximumIOBackoff {
            pause *= 2
            step += 1
        }
        ioPausedUntil = now + min(pause, configuration.maximumIOBackoff)
        ioFailures += 1
    }

    /// Any I/O succeeded (including acknowledgements, dead letters and samples): the next failure
    /// starts the backoff afresh.
    mutating func ioSucceeded() {
        ioFailures = 0
        ioPausedUntil = nil
    }

    /// Graceful shutdown: apply what is ready, wait for running applies, flush
    /// acknowledgements, then finish. Entries waiting for a retry are left pending for another
    /// worker.
    mutating func shutdownRequested() {
        shuttingDown = true
    }

    // MARK: - Bookkeeping

    private mutating func accept(_ delivery: WriteBehindDelivery) {
        switch delivery {
        case .malformed(let id, let partition, let deliveryCount, let fields):
            guard held[EntryReference(partition: partition, id: id)] == nil else { return }
            deadLetters[partition, default: []].append(
                DeadLetter(id: id, fields: fields, reason: .malformed, deliveries: deliveryCount))
        case .entry(let entry):
            let reference = EntryReference(partition: entry.partition, id: entry.id)
            if held[reference] != nil {
                // Taken over from ourselves (it sat idle too long): keep the higher count.
                updateDeliveryCount(of: entry)
                return
            }
            if entry.deliveryCount > configuration.maximumDeliveries {
                deadLetters[entry.partition, default: []].append(DeadLetter(entry, reason: .applyFailed))
                return
            }
            held[reference] = entry.key
            var queue = queues[entry.key] ?? []
            let busy = keyStates[entry.key] != nil
            var index = queue.endIndex
            while index > (busy ? 1 : 0), StreamEntryID.precedes(entry.id, queue[index - 1].id) { index -= 1 }
            queue.insert(entry, at: index)
            queues[entry.key] = queue
            // A key is in `runnable` exactly when it is idle and its FIFO is not empty.
            if !busy, queue.count == 1 { runnable.append(entry.key) }
        }
    }

    private mutating func updateDeliveryCount(of entry: WriteBehindEntry) {
        guard var queue = queues[entry.key], let index = queue.firstIndex(where: { $0.id == entry.id }) else { return }
        queue[index].deliveryCount = max(queue[index].deliveryCount, entry.deliveryCount)
        queues[entry.key] = queue
    }

    private func key(ofHead id: String, partition: Int) -> String? {
        guard let key = held[EntryReference(partition: partition, id: id)], queues[key]?.first?.id == id else { return nil }
        return key
    }

    private mutating func forget(_ reference: EntryReference) {
        guard let key = held[reference], var queue = queues[key],
            let index = queue.firstIndex(where: { $0.id == reference.id })
        else { return }
        if index == 0 {
            switch keyStates[key] {
            case .applying, .redelivering:
                return
            case .waitingForRetry:
                retries.removeAll { $0.key == key }
                releaseHead(of: key)
                return
            case nil:
                break
            }
        }
        queue.remove(at: index)
        held[reference] = nil
        if queue.isEmpty {
            queues[key] = nil
            runnable.removeAll { $0 == key }
        } else {
            queues[key] = queue
        }
    }

    private mutating func releaseHead(of key: String) {
        guard var queue = queues[key], !queue.isEmpty else { return }
        let head = queue.removeFirst()
        held[EntryReference(partition: head.partition, id: head.id)] = nil
        keyStates[key] = nil
        if queue.isEmpty {
            queues[key] = nil
        } else {
            queues[key] = queue
            runnable.append(key)
        }
    }
}
