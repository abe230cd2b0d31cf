import Synchronization

/// The recorded operations of one run and the check over them.
///
/// Reads and writes carry the instance that made them; invalidations each instance received from
/// the bus are recorded too, so reads served by an in-process tier can be held to what that
/// instance could know.
final class History: Sendable {
    struct Read {
        var instance: Int
        var key: Int
        var version: Int64
        var start: ContinuousClock.Instant
    }

    struct Write {
        var instance: Int
        var key: Int
        var version: Int64
        /// When the (last, successful) attempt to update the cache began: an instance's receipt
        /// of the key from then on is taken as this write's invalidation.
        var invalidationStarted: ContinuousClock.Instant
        var acknowledged: ContinuousClock.Instant
    }

    /// An invalidation an instance applied: one key, or everything (`key == nil`, a flush).
    struct Receipt {
        var instance: Int
        var key: Int?
        var at: ContinuousClock.Instant
    }

    struct OverlapKey: Hashable {
        var instance: Int
        var key: Int
        var started: ContinuousClock.Instant
        var acknowledged: ContinuousClock.Instant
    }

    /// What the check found.
    struct Verdict {
        /// Reads that returned a version older than one the strategy must already show.
        var staleReads = 0
        var maxStaleness = Duration.zero
        /// In-process reads older than an acknowledged write, served before the invalidation
        /// reached their instance: allowed, and bounded by the propagation time.
        var staleWithinPropagation = 0
        var maxStalenessWithinPropagation = Duration.zero
        /// For every write and every other instance: acknowledgement to receipt (zero when the
        /// receipt came first).
        var propagation: [Duration] = []
        var reads = 0
        var writes = 0
    }

    private let state = Mutex<(reads: [Read], writes: [Write], receipts: [Receipt])>(([], [], []))

    func recordRead(instance: Int = 0, key: Int, version: Int64, start: ContinuousClock.Instant) {
        state.withLock { $0.reads.append(Read(instance: instance, key: key, version: version, start: start)) }
    }

    func recordWrite(
        instance: Int = 0, key: Int, version: Int64, invalidationStarted: ContinuousClock.Instant, acknowledged: ContinuousClock.Instant
    ) {
        state.withLock {
            $0.writes.append(Write(
                instance: instance, key: key, version: version, invalidationStarted: invalidationStarted, acknowledged: acknowledged))
        }
    }

    func recordReceipt(instance: Int, key: Int?, at: ContinuousClock.Instant) {
        state.withLock { $0.receipts.append(Receipt(instance: instance, key: key, at: at)) }
    }

    /// Checks every read against the writes acknowledged before it started.
    ///
    /// A read can come from in-process state (an in-process tier, or a load in flight in the
    /// reader's process that it joined), so it may lag a write until its instance received that
    /// write's invalidation (the writer's own instance: until the acknowledgement); a stale read
    /// after the receipt — or with no receipt at all — is a violation.
    func check() -> Verdict {
        let (reads, writes, receipts) = state.withLock { ($0.reads, $0.writes, $0.receipts) }
        let writesByKey = Dictionary(grouping: writes, by: \.key).mapValues { $0.sorted { $0.acknowledged < $1.acknowledged } }
        // Receipt times per instance and key (nil: flushes), sorted for binary search.
        var receiptTimes: [Int: [Int?: [ContinuousClock.Instant]]] = [:]
        for receipt in receipts { receiptTimes[receipt.instance, default: [:]][receipt.key, default: []].append(receipt.at) }
        for instance in receiptTimes.keys {
            for key in receiptTimes[instance]!.keys { receiptTimes[instance]![key]!.sort() }
        }
        var verdict = Verdict(reads: reads.count, writes: writes.count)

        /// Writes by other instances than `instance` to `write`'s key whose cache updates overlapped
        /// `write`'s (itself included). Each sends `instance` one message, in no fixed order.
        let acknowledgementsByKey = writesByKey.mapValues { $0.map(\.acknowledged) }
        var overlaps: [OverlapKey: Int] = [:]
        func overlapping(_ instance: Int, _ write: Write) -> Int {
            let memo = OverlapKey(instance: instance, key: write.key, started: write.invalidationStarted, acknowledged: write.acknowledged)
            if let known = overlaps[memo] { return known }
            let sorted = writesByKey[write.key] ?? []
            // Sorted by acknowledgement: start at the first acknowledged after `write` began, stop
            // well past its acknowledgement (a cache update lasts far less than a minute).
            var index = Self.firstIndex(in: acknowledgementsByKey[write.key] ?? [], notBefore: write.invalidationStarted)
            var count = 0
            let horizon = write.acknowledged.advanced(by: .seconds(60))
            while index < sorted.count, sorted[index].acknowledged <= horizon {
                let other = sorted[index]
                if other.instance != instance, other.invalidationStarted <= write.acknowledged { count += 1 }
                index += 1
            }
            overlaps[memo] = max(1, count)
            return max(1, count)
        }

        /// When `instance` certainly learned of `write`: a flush at or after the writer began
        /// updating the cache, or as many receipts of the key since then as there were overlapping
        /// writes from other instances (messages of concurrent writes can arrive in any order, and
        /// one of them must be this write's). The writer's own instance knows at the acknowledgement.
        func learned(_ instance: Int, _ write: Write) -> ContinuousClock.Instant? {
            if instance == write.instance { return write.acknowledged }
            let times = receiptTimes[instance]?[write.key] ?? []
            let start = Self.firstIndex(in: times, notBefore: write.invalidationStarted)
            let needed = overlapping(instance, write)
            let ofKey = start + needed - 1 < times.count ? times[start + needed - 1] : nil
            let flush = Self.first(in: receiptTimes[instance]?[nil] ?? [], notBefore: write.invalidationStarted)
            switch (ofKey, flush) {
            case (let a?, let b?): return min(a, b)
            case (let a?, nil): return a
            case (nil, let b?): return b
            case (nil, nil): return nil
            }
        }

        for read in reads {
            guard let keyWrites = writesByKey[read.key] else { continue }
            var firstMissed: ContinuousClock.Instant?
            var violated = false
            for write in keyWrites {
                if write.acknowledged >= read.start { break }
                guard write.version > read.version else { continue }
                firstMissed = firstMissed.map { min($0, write.acknowledged) } ?? write.acknowledged
                if let known = learned(read.instance, write), known > read.start { continue }
                violated = true
            }
            guard let firstMissed else { continue }
            let staleness = read.start - firstMissed
            if violated {
                verdict.staleReads += 1
                verdict.maxStaleness = max(verdict.maxStaleness, staleness)
            } else {
                verdict.staleWithinPropagation += 1
                verdict.maxStalenessWithinPropagation = max(verdict.maxStalenessWithinPropagation, staleness)
            }
        }
        let instances = Set(reads.map(\.instance)).union(writes.map(\.instance))
        for write in writes {
            for instance in instances where instance != write.instance {
                guard let known = learned(instance, write) else { continue }
                verdict.propagation.append(max(.zero, known - write.acknowledged))
            }
        }
        return verdict
    }

    /// The first time in sorted `times` at or after `instant`.
    private static func first(in times: [ContinuousClock.Instant], notBefore instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let index = firstIndex(in: times, notBefore: instant)
        return index < times.count ? times[index] : nil
    }

    /// The index of the first time in sorted `times` at or after `instant` (`times.count` if none).
    private static func firstIndex(in times: [ContinuousClock.Instant], notBefore instant: ContinuousClock.Instant) -> Int {
        var low = 0
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < instant { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
