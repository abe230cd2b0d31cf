import NIOCore
import RESP
import Redis

/// Where a `strata warm copy` run stands: the `SCAN` cursor and the counts so far.
///
/// This is also the resume file's content: it is saved after every batch, so an interrupted copy
/// continues from the last completed batch. Keys of a batch that was cut short are copied again
/// on resume; without `--replace` they then count as `skippedExisting`.
///
/// The batch bookkeeping is pure (``plan(keys:replies:replace:)``, ``record(restoreResults:)``) so
/// it is tested without servers.
public struct WarmCopyState: Sendable, Codable, Hashable {
    /// The source, as `host:port/db` (no credentials).
    public var source: String
    /// The target, as `host:port/db`.
    public var target: String
    /// The `MATCH` pattern, if any.
    public var match: String?
    /// The `SCAN` cursor to continue from (0 before the first batch and after the last).
    public var cursor: UInt64
    /// Keys returned by `SCAN` (a key may be returned twice, as `SCAN` allows).
    public var scanned: Int
    /// Keys restored on the target.
    public var copied: Int
    /// Keys that already existed on the target (`BUSYKEY`, without `--replace`).
    public var skippedExisting: Int
    /// Keys that expired or were deleted between `SCAN` and `DUMP` (`PTTL` -2 or no payload).
    public var skippedExpired: Int
    /// Keys the target refused for another reason, by error code word.
    public var failures: [String: Int]
    /// Completed batches.
    public var batches: Int
    /// Whether the `SCAN` reached its end.
    public var finished: Bool

    /// A fresh state for a copy from `source` to `target`.
    public init(source: String, target: String, match: String?) {
        self.source = source
        self.target = target
        self.match = match
        self.cursor = 0
        self.scanned = 0
        self.copied = 0
        self.skippedExisting = 0
        self.skippedExpired = 0
        self.failures = [:]
        self.batches = 0
        self.finished = false
    }

    /// Keys the target refused for a reason other than `BUSYKEY`.
    public var failed: Int { failures.values.reduce(0, +) }

    /// Whether `other` describes the same copy (source, target and pattern), so it may be resumed.
    public func isSameCopy(as other: WarmCopyState) -> Bool {
        source == other.source && target == other.target && match == other.match
    }

    /// The `RESTORE` commands for one batch, from the source's pipelined `PTTL`/`DUMP` replies
    /// (two per key, in key order). Keys that are gone (`PTTL` -2, or `DUMP` null) are counted
    /// in ``skippedExpired`` and left out; a key without expiry is restored with TTL 0 (none).
    mutating func plan(keys: [ByteBuffer], replies: [Result<RESPToken, RedisError>], replace: Bool) -> [KeyRestore] {
        scanned += keys.count
        var restores: [KeyRestore] = []
        restores.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            guard let ttl = replies[2 * index].decoded(as: Int.self), ttl != -2,
                let payload = replies[2 * index + 1].decoded(as: ByteBuffer?.self) ?? nil
            else {
                skippedExpired += 1
                continue
            }
            restores.append(KeyRestore(key: key, timeToLiveMilliseconds: max(ttl, 0), payload: payload, replace: replace))
        }
        return restores
    }

    /// Counts the target's answers to a batch of `RESTORE`s.
    mutating func record(restoreResults: [Result<RESPToken, RedisError>]) {
        for result in restoreResults {
            switch result {
            case .success: copied += 1
            case .failure(let error) where error.serverCode == "BUSYKEY": skippedExisting += 1
            case .failure(let error): failures[error.serverCode ?? error.code.description, default: 0] += 1
            }
        }
    }

    /// Ends a batch: the next `SCAN` starts at `cursor`; 0 means the keyspace is done.
    mutating func completeBatch(nextCursor: UInt64) {
        cursor = nextCursor
        batches += 1
        finished = nextCursor == 0
    }
}
