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

    @Option(help: "Runs per scenario; the median is reported.")
    var runs = 3

    @Option(help: "Concurrent writer tasks.")
    var tasks = 20

    @Flag(help: "Print JSON (recovery times in milliseconds per scenario).")
    var json = false

    func run() async throws {
        var sentinel: [Double] = []
        var sentinelFailover: [Double] = []
        for run in 1...max(1, runs) {
            if !json { print("sentinel run \(run)/\(runs) ...") }
            let result = try await FailoverBenchmark(tasks: tasks).sentinelRun()
            sentinel.append(result.writesResumedMilliseconds)
            sentinelFailover.append(result.sentinelFailoverMilliseconds)
        }
        let report = FailoverBenchmark.Report(scenarios: [
            .init(
                name: "sentinel", runs: sentinel.count, recoveryMillisecondsMedian: median(sentinel),
                recoveryMilliseconds: sentinel, topologyFailoverMillisecondsMedian: median(sentinelFailover)
            )
        ])
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for scenario in report.scenarios {
                print(
                    "\(scenario.name): writes resumed after \(Int(scenario.recoveryMillisecondsMedian)) ms (median of \(scenario.runs)); "
                        + "the topology itself needed \(Int(scenario.topologyFailoverMillisecondsMedian)) ms; "
                        + "all runs: \(scenario.recoveryMilliseconds.map { String(Int($0)) }.joined(separator: ", ")) ms"
                )
            }
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
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
        }
        var scenarios: [Scenario]
    }

    struct RunResult {
        var writesResumedMilliseconds: Double
        var sentinelFailoverMilliseconds: Double
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
                        load.addTask { try await probe.write(client, key: "failover:\(task)") }
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
                        sentinelFailoverMilliseconds: (failoverDone - killedAt).milliseconds
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
        var stopped = false
    }

    private let state = Mutex(State())

    var recoveredAt: ContinuousClock.Instant? { state.withLock { $0.recoveredAt } }

    func markKill(at instant: ContinuousClock.Instant) { state.withLock { $0.killedAt = instant } }
    func stop() { state.withLock { $0.stopped = true } }

    func write(_ client: RedisClient, key: String) async throws {
        var counter = 0
        while !state.withLock({ $0.stopped }) {
            let started = ContinuousClock.now
            do {
                try await client.set(key, to: counter)
                counter += 1
                state.withLock { state in
                    if let failed = state.firstFailure, started > failed, state.recoveredAt == nil {
                        state.recoveredAt = .now
                    }
                }
            } catch {
                state.withLock { state in
                    if state.killedAt != nil, state.firstFailure == nil { state.firstFailure = .now }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}

extension Duration {
    var milliseconds: Double { seconds * 1000 }
}
