import Foundation
import Redis
import RedisServerHarness
import StrataDemo
import StrataRedis
import Testing

/// The honest crash proof: a worker in its own process (`strata write-behind-worker`) applying a
/// queue to a SQLite file is killed with SIGKILL at an injected point (it kills itself, so the
/// point is exact), then a second worker process takes its entries over with `XAUTOCLAIM`.
/// Redis runs with `appendonly yes`, `appendfsync always`.
@Suite(.serialized, .timeLimit(.minutes(2))) struct WriteBehindCrashTests {
    static let keys = 10
    static let versions = 4
    static let crashAt = 15

    @Test func aWorkerKilledBetweenTheSourceWriteAndTheAcknowledgementLosesNothingAndRepeatsNothing() async throws {
        try await runCrashScenario(crashFlag: "--crash-after-apply") { effects, pendingWrites in
            // The 15th write committed, then the process died before acknowledging it.
            #expect(effects.count == Self.crashAt)
            if let last = effects.last { #expect(pendingWrites.contains("\(last.key)@\(last.version)")) }
        }
    }

    @Test func aWorkerKilledBeforeTheSourceWriteLosesNothing() async throws {
        try await runCrashScenario(crashFlag: "--crash-before-apply") { effects, pendingWrites in
            // The 15th write never reached the source; it is still pending.
            #expect(effects.count == Self.crashAt - 1)
            let applied = Set(effects.map { "\($0.key)@\($0.version)" })
            #expect(!pendingWrites.subtracting(applied).isEmpty)
        }
    }

    /// Queues `keys × versions` writes, runs a worker process that kills itself at the
    /// `crashAt`th apply, hands `afterCrash` the source's effects and the pending writes
    /// (`key@version`) of the dead consumer, then runs a second worker process until the queue
    /// is drained and checks that every version of every key took effect exactly once, in order.
    func runCrashScenario(
        crashFlag: String, afterCrash: @escaping @Sendable ([(key: String, version: Int64)], Set<String>) throws -> Void
    ) async throws {
        let executable = try Self.strataExecutable()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-wb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sqlite = "\(directory)/source.sqlite"
        try await RedisServer.withServer(.init(arguments: ["--appendonly", "yes", "--appendfsync", "always"])) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 2)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            try await withRunningClient(client) {
                for version in 1...Self.versions {
                    for key in 0..<Self.keys {
                        try await queue.enqueue(key: "row:\(key)", payload: Array("row:\(key)@\(version)".utf8), version: Int64(version))
                    }
                }
                let common = [
                    "write-behind-worker", "--redis", "redis://\(server.host):\(server.port)", "--sqlite", sqlite,
                    "--prefix", streams.prefix, "--partitions", "\(streams.partitions)", "--group", streams.group,
                    "--claim-idle-ms", "400", "--time-limit-seconds", "60",
                ]
                let crashed = try await Self.runProcess(
                    executable, common + ["--consumer", "crashed", "--concurrency", "1", crashFlag, "\(Self.crashAt)"],
                    log: "\(directory)/crashed.log")
                #expect(crashed.reason == .uncaughtSignal && crashed.status == SIGKILL, "the worker should die by SIGKILL")

                let effects = try VersionedSQLiteSource(path: sqlite).effects()
                var pendingWrites = Set<String>()
                for partition in 0..<streams.partitions {
                    let stream = streams.stream(partition: partition)
                    let pending = try await client.send(XPENDINGRANGE(stream, group: streams.group, count: 1000, consumer: "crashed"))
                    for entry in pending {
                        for write in try await client.send(XRANGE(stream, start: entry.id, end: entry.id)) {
                            pendingWrites.insert(String(buffer: write["p"] ?? .init()))
                        }
                    }
                }
                #expect(!pendingWrites.isEmpty, "the killed worker should leave unacknowledged entries")
                try afterCrash(effects, pendingWrites)

                let survivor = try await Self.runProcess(
                    executable, common + ["--consumer", "survivor", "--exit-when-drained"], log: "\(directory)/survivor.log")
                #expect(survivor.reason == .exit && survivor.status == 0, "\(Self.tail("\(directory)/survivor.log"))")

                let source = try VersionedSQLiteSource(path: sqlite)
                var expected: [String: [Int64]] = [:]
                for key in 0..<Self.keys { expected["row:\(key)"] = (1...Int64(Self.versions)).map { $0 } }
                var applied: [String: [Int64]] = [:]
                for effect in try source.effects() { applied[effect.key, default: []].append(effect.version) }
                // Every version of every key took effect once, in order: nothing lost, nothing repeated.
                #expect(applied == expected)
                let backlog = try await queue.backlog()
                #expect(backlog.total == 0 && backlog.deadLetters == 0)
            }
        }
    }

    /// The `strata` executable next to the test bundle (`swift build` builds it), or
    /// `STRATA_EXECUTABLE`.
    static func strataExecutable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["STRATA_EXECUTABLE"] { return path }
        var candidates: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in candidates {
            let path = directory.appendingPathComponent("strata").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        Issue.record("the strata executable was not found next to the tests; run `swift build` first or set STRATA_EXECUTABLE")
        throw CancellationError()
    }

    /// Runs `executable` to completion (polling, so no thread blocks) with output to `log`.
    static func runProcess(
        _ executable: String, _ arguments: [String], log: String
    ) async throws -> (reason: Process.TerminationReason, status: Int32) {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(90)
        while process.isRunning {
            if clock.now > deadline {
                process.terminate()
                Issue.record("the worker process did not finish")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationReason, process.terminationStatus)
    }

    static func tail(_ path: String) -> String {
        String((try? String(contentsOfFile: path, encoding: .utf8))?.suffix(2000) ?? "")
    }
}
