import Foundation
import NIOCore
import Redis

/// Runs the client benchmark scenarios and the matching `redis-benchmark` runs, interleaved so
/// both see the same machine load.
struct ClientBenchmark {
    let endpoint: RedisEndpoint
    let clients: Int
    let pipelineDepth: Int
    let requests: Int
    let progress: (String) -> Void

    /// One measured row.
    struct Row: Codable {
        var scenario: String
        var command: String
        var tool: String
        var operations: Int
        var opsPerSecond: Double
        var p50Microseconds: Double
        var p99Microseconds: Double
        var cpuMicrosecondsPerOp: Double
    }

    struct Report: Codable {
        var rows: [Row]
        var ratios: [String: Double]
        var server: String

        func json() -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }

        func table() -> String {
            var lines = ["server: \(server)", ""]
            lines.append(
                "scenario          cmd  tool             ops/s   p50 µs   p99 µs  CPU µs/op"
            )
            for row in rows {
                lines.append(
                    row.scenario.padding(toLength: 17, withPad: " ", startingAt: 0) + " "
                        + row.command.padding(toLength: 4, withPad: " ", startingAt: 0) + " "
                        + row.tool.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + format(row.opsPerSecond, width: 10, decimals: 0)
                        + format(row.p50Microseconds, width: 9, decimals: 1)
                        + format(row.p99Microseconds, width: 9, decimals: 1)
                        + format(row.cpuMicrosecondsPerOp, width: 11, decimals: 2)
                )
            }
            lines.append("")
            lines.append("ratios (strata / redis-benchmark):")
            for (name, value) in ratios.sorted(by: { $0.key < $1.key }) {
                lines.append("  " + name.padding(toLength: 30, withPad: " ", startingAt: 0) + format(value, width: 6, decimals: 2))
            }
            return lines.joined(separator: "\n")
        }

        private func format(_ value: Double, width: Int, decimals: Int) -> String {
            let text = String(format: "%.\(decimals)f", value)
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }
    }

    private struct Scenario {
        var name: String
        var tasks: Int
        var depth: Int
        var requests: Int
        /// Run the tasks on the client's event loop (`withTaskExecutorPreference`).
        var onEventLoop = false
        /// Also run redis-benchmark for this scenario.
        var hasReference = true
    }

    func run() async throws -> Report {
        let scenarios = [
            Scenario(name: "c\(clients)", tasks: clients, depth: 1, requests: requests),
            Scenario(name: "c\(clients) P\(pipelineDepth)", tasks: clients, depth: pipelineDepth, requests: requests * 4),
            Scenario(name: "c1", tasks: 1, depth: 1, requests: max(requests / 8, 1000)),
            Scenario(
                name: "c1 event-loop", tasks: 1, depth: 1, requests: max(requests / 8, 1000), onEventLoop: true,
                hasReference: false
            ),
        ]
        let client = try RedisClient(
            configuration: RedisConnectionConfiguration(endpoint: endpoint, commandTimeout: .seconds(30))
        )
        var rows: [Row] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            do {
                try await measureAll(client, scenarios, into: &rows)
            } catch {
                client.shutdown()
                throw error
            }
            client.shutdown()
            try await group.waitForAll()
        }
        return Report(rows: rows, ratios: ratios(rows), server: "\(endpoint)")
    }

    private func measureAll(_ client: RedisClient, _ scenarios: [Scenario], into rows: inout [Row]) async throws {
            try await client.set("key:000000000000", to: "xxx")
            // Warm up connections and allocator caches before measuring.
            _ = try await measureStrata(client, Scenario(name: "warmup", tasks: clients, depth: 1, requests: 20_000), command: "GET")
            for scenario in scenarios {
                for command in ["GET", "SET"] {
                    progress("running \(scenario.name) \(command) ...")
                    // Single-task latency swings with the machine's state from one second to the
                    // next: alternate the tools a few times and keep each one's median row.
                    let rounds = scenario.tasks == 1 ? 5 : 1
                    var ours: [Row] = []
                    var theirs: [Row] = []
                    for _ in 0..<rounds {
                        // Let the server settle after the previous redis-benchmark burst (50
                        // clients disconnecting): otherwise whichever tool runs next pays for it.
                        try await Task.sleep(for: .milliseconds(300))
                        var warmup = scenario
                        warmup.requests = max(scenario.requests / 10, scenario.tasks * scenario.depth)
                        _ = try await measureStrata(client, warmup, command: command)
                        var measured = scenario
                        measured.requests = scenario.requests / rounds
                        ours.append(try await measureStrata(client, measured, command: command))
                        if scenario.hasReference { theirs.append(try measureRedisBenchmark(measured, command: command)) }
                    }
                    rows.append(Self.medianRow(ours))
                    if !theirs.isEmpty { rows.append(Self.medianRow(theirs)) }
                }
            }
            progress("running c1 tracked-local GET ...")
            rows.append(try await measureTrackedLocalRead(client, requests: requests))
    }

    /// The row with the median p50 latency.
    static func medianRow(_ rows: [Row]) -> Row {
        let sorted = rows.sorted { $0.p50Microseconds < $1.p50Microseconds }
        return sorted[sorted.count / 2]
    }

    private func ratios(_ rows: [Row]) -> [String: Double] {
        func pair(_ scenario: String, _ command: String) -> (Row, Row)? {
            guard let ours = rows.first(where: { $0.scenario == scenario && $0.command == command && $0.tool == "strata" }),
                let theirs = rows.first(where: { $0.scenario == scenario && $0.command == command && $0.tool == "redis-benchmark" })
            else { return nil }
            return (ours, theirs)
        }
        var ratios: [String: Double] = [:]
        if let (ours, theirs) = pair("c\(clients)", "GET") {
            ratios["throughput_c\(clients)"] = ours.opsPerSecond / theirs.opsPerSecond
            ratios["cpu_per_op_c\(clients)"] = ours.cpuMicrosecondsPerOp / theirs.cpuMicrosecondsPerOp
        }
        if let (ours, theirs) = pair("c\(clients) P\(pipelineDepth)", "GET") {
            ratios["throughput_p\(pipelineDepth)"] = ours.opsPerSecond / theirs.opsPerSecond
            ratios["cpu_per_op_p\(pipelineDepth)"] = ours.cpuMicrosecondsPerOp / theirs.cpuMicrosecondsPerOp
        }
        if let (ours, theirs) = pair("c1", "GET") {
            ratios["latency_p50_c1"] = ours.p50Microseconds / theirs.p50Microseconds
            if let pinned = rows.first(where: { $0.scenario == "c1 event-loop" && $0.command == "GET" }) {
                ratios["latency_p50_c1_event_loop"] = pinned.p50Microseconds / theirs.p50Microseconds
            }
            if let local = rows.first(where: { $0.scenario == "c1 tracked-local" }) {
                // Not against redis-benchmark: against our own network GET, one task each.
                ratios["tracked_local_vs_network_c1"] = local.opsPerSecond / ours.opsPerSecond
            }
        }
        return ratios
    }

    // MARK: Strata

    private func measureStrata(_ client: RedisClient, _ scenario: Scenario, command: String) async throws -> Row {
        let perTask = max(1, scenario.requests / scenario.tasks / scenario.depth)
        let depth = scenario.depth
        let executor: (any TaskExecutor)? = scenario.onEventLoop ? client.taskExecutor : nil
        let cpuBefore = CPUTime.ofThisProcess()
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for task in 0..<scenario.tasks {
                group.addTask(executorPreference: executor) {
                    var samples: [UInt64] = []
                    samples.reserveCapacity(perTask)
                    let key = "key:" + String(format: "%012d", task)
                    let batch: [any RedisCommand] = command == "GET"
                        ? Array(repeating: GET(key), count: depth) : Array(repeating: SET(key, "xxx"), count: depth)
                    for _ in 0..<perTask {
                        let begin = ContinuousClock.now
                        if depth > 1 {
                            _ = try await client.pipeline(batch)
                        } else if command == "GET" {
                            _ = try await client.send(GET(key))
                        } else {
                            _ = try await client.send(SET(key, "xxx"))
                        }
                        samples.append((ContinuousClock.now - begin).nanoseconds)
                    }
                    return samples
                }
            }
            var all: [UInt64] = []
            for try await samples in group { all.append(contentsOf: samples) }
            return all
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let cpu = CPUTime.ofThisProcess() - cpuBefore
        let operations = latencies.count * depth
        let sorted = latencies.sorted()
        return Row(
            scenario: scenario.name, command: command, tool: "strata", operations: operations,
            opsPerSecond: Double(operations) / elapsed,
            p50Microseconds: percentile(sorted, 0.50), p99Microseconds: percentile(sorted, 0.99),
            cpuMicrosecondsPerOp: cpu * 1e6 / Double(operations)
        )
    }

    func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int(Double(sorted.count) * fraction))
        return Double(sorted[index]) / 1000
    }

    // MARK: redis-benchmark

    private func measureRedisBenchmark(_ scenario: Scenario, command: String) throws -> Row {
        let arguments = [
            "-h", endpoint.host, "-p", String(endpoint.port), "-c", String(scenario.tasks), "-P", String(scenario.depth),
            "-n", String(scenario.requests), "-t", command.lowercased(), "--csv", "-r", String(max(scenario.tasks, 1)),
        ]
        let cpuBefore = CPUTime.ofReapedChildren()
        let output = try runProcess("redis-benchmark", arguments)
        let cpu = CPUTime.ofReapedChildren() - cpuBefore
        // --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("\"\(command)\"") }) else {
            throw BenchmarkError(message: "redis-benchmark printed no \(command) row: \(output.suffix(300))")
        }
        let fields = line.split(separator: ",").map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) ?? 0 }
        guard fields.count >= 7 else { throw BenchmarkError(message: "unexpected redis-benchmark CSV: \(line)") }
        return Row(
            scenario: scenario.name, command: command, tool: "redis-benchmark", operations: scenario.requests,
            opsPerSecond: fields[1], p50Microseconds: fields[4] * 1000, p99Microseconds: fields[6] * 1000,
            cpuMicrosecondsPerOp: cpu * 1e6 / Double(scenario.requests)
        )
    }

    private func runProcess(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError(message: "\(tool) exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// CPU time (user + system) from `getrusage`.
enum CPUTime {
    static func ofThisProcess() -> Double { read(RUSAGE_SELF.rawValue) }
    static func ofReapedChildren() -> Double { read(RUSAGE_CHILDREN.rawValue) }

    private static func read(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var nanoseconds: UInt64 { UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds) / 1_000_000_000) }
}
