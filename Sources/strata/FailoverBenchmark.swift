import ArgumentParser
import Foundation
import NIOCore
import Redis
import RedisServerHarness
import Synchronization

/// `strata bench failover`: how long writes stop when a primary dies, against real topologies.
struct BenchFailoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Kill the primary under load and measure how long until writes succeed again."
    )

    /// Which topologies to fail over.
    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case sentinel, cluster, all
    }

    @Option(help: "Which topology to fail over: sentinel, cluster or all.")
    var scenario: Scenario = .all

    @Option(help: "Runs per scenario; the median is reported.")
    var runs = 3

    @Option(help: "Concurrent writer tasks.")
    var tasks = 20

    @Flag(help: "Print JSON (recovery times in milliseconds per scenario).")
    var json = false

    func run() async throws {
        let benchmark = FailoverBenchmark(tasks: tasks)
        var scenarios: [FailoverBenchmark.Report.Scenario] = []
        for name in scenario == .all ? ["sentinel", "cluster"] : [scenario.rawValue] {
            var results: [FailoverBenchmark.RunResult] = []
            for run in 1...max(1, runs) {
                if !json { print("\(name) run \(run)/\(runs) ...") }
                results.append(try await name == "sentinel" ? benchmark.sentinelRun() : benchmark.clusterRun())
            }
            scenarios.append(.init(name: name, results: results))
        }
        let report = FailoverBenchmark.Report(scenarios: scenarios)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for scenario in report.scenarios { print(scenario.summary) }
        }
    }
}

/// The scenarios behind `strata bench failover`.
struct FailoverBenchmark {
    let tasks: Int

    struct Report: Codable {
        struct Scenario: Codable {
            var name: String
            var runs: Int
            /// Kill → first write issued after writes began failing that succeeded.
            var recoveryMillisecondsMedian: Double
            var recoveryMilliseconds: [Double]
            /// Kill → the sentinels (or cluster) agree on a new primary, measured by polling.
            var topologyFailoverMillisecondsMedian: Double
            /// Cluster only: failed writes to slots the killed primary did not serve (all runs).
            var otherSlotFailures: Int?
            /// Cluster only: the slowest write to those slots (all runs).
            var otherSlotSlowestWriteMilliseconds: Double?

            init(name: String, results: [RunResult]) {
                self.name = name
                runs = results.count
                recoveryMilliseconds = results.map(\.writesResumedMilliseconds)
                recoveryMillisecondsMedian = Self.median(recoveryMilliseconds)
                topologyFailoverMillisecondsMedian = Self.median(results.map(\.topologyFailoverMilliseconds))
                let others = results.compactMap(\.otherSlots)
                if !others.isEmpty {
                    otherSlotFailures = others.reduce(0) { $0 + $1.failures }
                    otherSlotSlowestWriteMilliseconds = others.map(\.slowestWriteMilliseconds).max()
                }
            }

            var summary: String {
                var text = "\(name): writes resumed after \(Int(recoveryMillisecondsMedian)) ms (median of \(runs)); "
                    + "the topology itself needed \(Int(topologyFailoverMillisecondsMedian)) ms; "
                    + "all runs: \(recoveryMilliseconds.map { String(Int($0)) }.joined(separator: ", ")) ms"
                if let otherSlotFailures, let otherSlotSlowestWriteMilliseconds {
                    text += "; other slots: \(otherSlotFailures) failed writes, slowest \(Int(otherSlotSlowestWriteMilliseconds)) ms"
                }
                return text
            }

            private static func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                guard !sorted.isEmpty else { return 0 }
                let middle = sorted.count / 2
                return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            }
        }
        var scenarios: [Scenario]
    }

    struct RunResult {
        var writesResumedMilliseconds: Double
        var topologyFailoverMilliseconds: Double
        /// Cluster only: writes to the slots of the primaries that stayed up.
        var otherSlots: (failures: Int, slowestWriteMilliseconds: Double)?
    }

    /// 1 primary, 2 replicas, 3 sentinels; `tasks` writers; SIGKILL the primary.
    func sentinelRun() async throws -> RunResult {
        try await RedisSentinelTopology.withTopology { topology in
            let client = try RedisClient(
                sentinel: RedisSentinelConfiguration(
                    sentinels: topology.sentinelEndpoints.map { RedisEndpoint(host: $0.host, port: $0.port) },
                    serviceName: topology.serviceName
                ),
                configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1"), commandTimeout: .seconds(2)),
                pool: RedisPoolConfiguration(
                    initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250), breakerFailureThreshold: 1_000,
                    maintenanceInterval: .milliseconds(20)
                )
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                defer { client.shutdown() }
                let probe = LoadProbe()
                let result = try await withThrowingTaskGroup(of: Void.self) { load -> RunResult in
                    for task in 0..<tasks {
                        load.addTask { try await probe.write(client, keys: ["failover:\(task)"]) }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    let killedAt = ContinuousClock.now
                    probe.markKill(at: killedAt)
                    let oldPort = await topology.killPrimary()
                    _ = try await topology.waitForFailover(from: oldPort)
                    let failoverDone = ContinuousClock.now
                    let deadline = ContinuousClock.now + .seconds(15)
                    while probe.recoveredAt == nil, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    probe.stop()
                    try await load.waitForAll()
                    guard let recovered = probe.recoveredAt else {
                        throw BenchmarkError(message: "writes did not resume within 15 s of the failover")
                    }
                    return RunResult(
                        writesResumedMilliseconds: (recovered - killedAt).milliseconds,
                        topologyFailoverMilliseconds: (failoverDone - killedAt).milliseconds
                    )
                }
                client.shutdown()
                try await group.waitForAll()
                return result
            }
        }
    }
}

/// Writers that record when writes started failing after a kill and when they came back.
final class LoadProbe: Sendable {
    private struct State {
        var killedAt: ContinuousClock.Instant?
        var firstFailure: ContinuousClock.Instant?
        var recoveredAt: ContinuousClock.Instant?
        var failures = 0
        var slowestWrite: Duration = .zero
        var stopped = false
    }

    private let state = Mutex(State())

    var recoveredAt: ContinuousClock.Instant? { state.withLock { $0.recoveredAt } }
    /// Writes that failed after the kill.
    var failures: Int { state.withLock { $0.failures } }
    /// The longest write, failed or not.
    var slowestWrite: Duration { state.withLock { $0.slowestWrite } }

    func markKill(at instant: ContinuousClock.Instant) { state.withLock { $0.killedAt = instant } }
    func stop() { state.withLock { $0.stopped = true } }

    /// Writes `keys` round-robin until ``stop()``; after a failure, waits 10 ms.
    func write(_ client: some RedisCommandExecutor, keys: [String]) async throws {
        var counter = 0
        while !state.withLock({ $0.stopped }) {
            let started = ContinuousClock.now
            do {
                try await client.set(keys[counter % keys.count], to: counter)
                counter += 1
                state.withLock { state in
                    state.slowestWrite = max(state.slowestWrite, .now - started)
                    if let failed = state.firstFailure, started > failed, state.recoveredAt == nil {
                        state.recoveredAt = .now
                    }
                }
            } catch {
                state.withLock { state in
                    state.slowestWrite = max(state.slowestWrite, .now - started)
                    guard state.killedAt != nil else { return }
                    state.failures += 1
                    if state.firstFailure == nil { state.firstFailure = .now }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}

extension Duration {
    var milliseconds: Double { seconds * 1000 }
}
