import Foundation
import Redis
import RedisServerHarness

/// Where the demo reports what it is doing while it runs.
public struct DemoProgress: Sendable {
    let emit: @Sendable (String) -> Void
    let started = ContinuousClock.now

    /// Creates a progress reporter that hands each line to `emit`.
    public init(emit: @escaping @Sendable (String) -> Void) { self.emit = emit }

    func step(_ message: String) {
        let elapsed = ContinuousClock.now - started
        emit(String(format: "[%5.1fs] ", elapsed.cacheSeconds) + message)
    }
}

/// Runs the whole demo: sets up Redis and the catalogue, runs every scenario, returns the report.
public enum DemoRunner {
    /// Runs the demo.
    ///
    /// - Throws: when Redis cannot be started or reached, or the catalogue cannot be created.
    public static func run(_ configuration: DemoConfiguration, progress: DemoProgress) async throws -> DemoReport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let scenarios = try await DemoRedis.withRedis(url: configuration.redisURL, progress: progress) { redis, server in
            try await runScenarios(configuration, directory: directory, redis: redis, server: server, progress: progress)
        }
        progress.step("done")
        return DemoReport(
            quick: configuration.quick, instances: configuration.instances, catalogRows: configuration.catalogRows,
            scenarios: scenarios)
    }

    private static func runScenarios(
        _ configuration: DemoConfiguration, directory: URL, redis: DemoRedis, server: RedisServer?, progress: DemoProgress
    ) async throws -> [ScenarioReport] {
        progress.step("creating the product catalogue (\(configuration.catalogRows) rows, SQLite)")
        let catalog = try ProductCatalog(
            path: directory.appendingPathComponent("catalog.sqlite").path,
            configuration: .init(rows: configuration.catalogRows, latency: configuration.sourceLatency))
        let environment = try await DemoEnvironment(configuration: configuration, catalog: catalog, redis: redis, ownServer: server)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await environment.admin.run() }
            defer {
                environment.admin.shutdown()
                group.cancelAll()
            }
            let all: [(id: String, run: (DemoEnvironment, DemoProgress) async throws -> ScenarioReport)] = [
                ("steady_state", DemoScenarios.steadyState),
                ("hot_key_expiry", DemoScenarios.hotKeyExpiry),
                ("concurrent_writes", DemoScenarios.concurrentWrites),
                ("redis_outage", DemoScenarios.redisOutage),
                ("cold_start", DemoScenarios.coldStart),
            ]
            var reports: [ScenarioReport] = []
            for scenario in all where configuration.onlyScenarios.isEmpty || configuration.onlyScenarios.contains(scenario.id) {
                reports.append(try await scenario.run(environment, progress))
            }
            return reports
        }
    }
}

/// A demo setup failure, described without secrets.
public struct DemoError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "demo: \(message)" }
}
