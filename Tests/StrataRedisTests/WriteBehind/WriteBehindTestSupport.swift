import Logging
import Redis
import RedisServerHarness
import StrataRedis
import Synchronization
import Testing

/// An in-memory source of truth with row versions: applies a write only when it is newer than
/// the stored version (the `UPDATE … WHERE version < ?` contract) and logs every change made.
final class VersionedMemorySource: Sendable {
    private struct State {
        var versions: [String: Int64] = [:]
        var effects: [String: [Int64]] = [:]
        var attempts: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Applies `entry` if newer; counts the attempt by entry id either way.
    @discardableResult
    func apply(_ entry: WriteBehindEntry) -> Bool {
        state.withLock { state in
            state.attempts["\(entry.partition)/\(entry.id)", default: 0] += 1
            guard (state.versions[entry.key] ?? Int64.min) < entry.version else { return false }
            state.versions[entry.key] = entry.version
            state.effects[entry.key, default: []].append(entry.version)
            return true
        }
    }

    /// Counts an attempt that does not write (an `apply` that fails first).
    func countAttempt(_ entry: WriteBehindEntry) {
        state.withLock { $0.attempts["\(entry.partition)/\(entry.id)", default: 0] += 1 }
    }

    var versions: [String: Int64] { state.withLock { $0.versions } }
    var effects: [String: [Int64]] { state.withLock { $0.effects } }
    /// How often the queued write `receipt` names was attempted (ids are unique per partition).
    func attempts(of receipt: WriteBehindReceipt) -> Int {
        state.withLock { $0.attempts["\(receipt.partition)/\(receipt.id)"] ?? 0 }
    }
    var effectCount: Int { state.withLock { $0.effects.values.reduce(0) { $0 + $1.count } } }
}

/// Checks the write-behind guarantees on a history: every acknowledged enqueue's key ends at its
/// highest acknowledged version or later (nothing lost), each key's effects strictly increase
/// (order kept, and no version took effect twice).
func expectNoLossNoDuplicatesInOrder(
    acknowledged: [String: [Int64]], effects: [String: [Int64]], final: [String: Int64],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var lost = 0
    var outOfOrder = 0
    for (key, versions) in acknowledged {
        guard let highest = versions.max() else { continue }
        if (final[key] ?? Int64.min) < highest { lost += 1 }
    }
    for (_, applied) in effects {
        for (previous, next) in zip(applied, applied.dropFirst()) where next <= previous { outOfOrder += 1 }
    }
    #expect(lost == 0, "keys whose highest acknowledged version never reached the source", sourceLocation: sourceLocation)
    #expect(outOfOrder == 0, "effects that repeated or went back in version", sourceLocation: sourceLocation)
}

/// A client on `server`, with quiet logs and a generous command timeout for a loaded machine.
func writeBehindClient(_ server: RedisServer, port: Int? = nil) throws -> RedisClient {
    try RedisClient(
        configuration: RedisConnectionConfiguration(
            endpoint: RedisEndpoint(host: server.host, port: port ?? server.port), commandTimeout: .seconds(10)),
        logger: quietWriteBehindLogger)
}

let quietWriteBehindLogger: Logger = {
    var logger = Logger(label: "strata.write-behind.tests")
    logger.logLevel = .critical
    return logger
}()

/// Fast settings for tests: short idle times so take-overs happen within a second.
func testWorkerConfiguration(
    maximumDeliveries: Int = 5, claimIdle: Duration = .milliseconds(500), concurrency: Int = 16
) -> WriteBehindWorker.Configuration {
    WriteBehindWorker.Configuration(
        maximumDeliveries: maximumDeliveries, retryDelay: .milliseconds(20), maximumRetryDelay: .milliseconds(100),
        claimIdle: claimIdle, claimInterval: claimIdle / 2, blockTime: .milliseconds(200),
        maximumConcurrentApplies: concurrency, metricsInterval: .milliseconds(200), logger: quietWriteBehindLogger)
}

/// Runs `body` with a running client; stops the client afterwards.
func withRunningClient<T: Sendable>(
    _ client: RedisClient, _ body: @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer {
            client.shutdown()
            group.cancelAll()
        }
        return try await body()
    }
}

/// Runs `workers` (each until `body` returns) while `body` runs.
func withWorkers<T: Sendable>(_ workers: [WriteBehindWorker], _ body: @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in workers { group.addTask { try await worker.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Waits (polling every 20 ms, up to `limit`) until the queue's backlog is empty.
func waitUntilDrained(_ queue: WriteBehindQueue, limit: Duration = .seconds(60)) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while clock.now < deadline {
        if try await queue.backlog().total == 0 { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the queue was not drained within \(limit)")
    throw CancellationError()
}

/// Waits (polling every 10 ms, up to `limit`) until `condition` holds.
func waitUntil(_ limit: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("the condition did not hold within \(limit)")
    throw CancellationError()
}

/// A fresh queue layout per test, so tests never see each other's streams.
func testStreams(partitions: Int = 4, _ name: String = #function) throws -> WriteBehindStreams {
    try WriteBehindStreams(prefix: "wb-\(name.prefix { $0 != "(" })-\(UInt32.random(in: 0...UInt32.max))", partitions: partitions)
}
