import ArgumentParser
import Foundation
import StrataDemo

/// `strata demo`: every caching pattern, measured side by side on a realistic workload.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a multi-instance workload and compare naive cache-aside with Strata, scenario by scenario.",
        discussion: """
            Starts a private redis-server on a free loopback port (or uses --redis), creates an SQLite \
            product catalogue with injected query latency, and runs several application instances (each \
            with its own Redis client, pool and in-process tier) through five scenarios: steady state, \
            hot-key expiry, concurrent writes, a Redis outage and a cold start. Every number printed is \
            measured in this run.

            Examples:
              strata demo --quick
              strata demo --json > demo.json
              strata demo --redis redis://127.0.0.1:6379 --report demo.html
            """
    )

    @Flag(help: "A ~20 second run instead of ~100 seconds.")
    var quick = false

    @Option(help: "Use this Redis instead of starting a private one: redis://host:port (a Cluster node means the whole cluster) or redis+sentinel://host:port[,host:port]/service. The demo runs FLUSHALL on it.")
    var redis: String?

    @Option(help: "Application instances per setup.")
    var instances = 3

    @Option(help: "Products in the catalogue.")
    var rows = 100_000

    @Option(help: "Write a self-contained HTML report with charts to this file.")
    var report: String?

    @Option(help: "Run only these scenarios (comma-separated ids: steady_state, hot_key_expiry, concurrent_writes, redis_outage, cold_start).")
    var only: String?

    @Flag(help: "Print the report as JSON on stdout (progress still goes to stderr).")
    var json = false

    func run() async throws {
        var configuration = DemoConfiguration(quick: quick, redisURL: redis, instances: instances, catalogRows: rows)
        configuration.onlyScenarios = Set((only ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let progress = DemoProgress { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let result = try await DemoRunner.run(configuration, progress: progress)
        if let report {
            try result.renderHTML().write(toFile: report, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("wrote \(report)\n".utf8))
        }
        print(json ? try result.renderJSON() : result.renderText())
    }
}
