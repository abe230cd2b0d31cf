import Foundation

/// The report of `strata check consistency`.
public struct ConsistencyReport: Codable, Sendable {
    /// One entry per strategy, in the order run.
    public var strategies: [ConsistencyChecker.StrategyResult]

    /// A terminal table.
    public func renderText() -> String {
        let withFaults = strategies.contains { $0.faultsInjected > 0 }
        let inProcess = strategies.contains { $0.propagationMaxMs > 0 }
        var rows = [
            ["strategy", "operations", "stale reads", "max staleness ms", "loader calls", "hit ratio"]
                + (inProcess ? ["lagged within propagation", "propagation p99 / max ms"] : []) + (withFaults ? ["faults"] : [])
        ]
        for result in strategies {
            let lag = result.propagationMaxMs > 0
                ? ["\(result.staleWithinPropagation)", "\(DemoScenarios.format(result.propagationP99Ms)) / \(DemoScenarios.format(result.propagationMaxMs))"]
                : ["-", "-"]
            rows.append([
                result.name, "\(result.operations)", "\(result.staleReads)",
                DemoScenarios.format(result.maxStalenessMs), "\(result.loaderCalls)",
                DemoScenarios.percent(result.hitRatio),
            ] + (inProcess ? lag : []) + (withFaults ? ["\(result.faultsInjected)"] : []))
        }
        return DemoReport.renderTable(rows)
    }

    /// JSON with snake_case keys.
    public func renderJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension ConsistencyChecker {
    /// Runs the check against `redisURL`, or a private `redis-server` when `nil`, with a fresh
    /// catalogue of the hot products in a temporary directory.
    public func run(redisURL: String?, progress: DemoProgress) async throws -> ConsistencyReport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let catalog = try ProductCatalog(
            path: directory.appendingPathComponent("catalog.sqlite").path,
            configuration: .init(rows: max(16, configuration.hotKeys), latency: .milliseconds(1) ... .milliseconds(3)))
        let results = try await DemoRedis.withRedis(url: redisURL, progress: progress) { redis, server in
            try await run(redis: redis, server: server, catalog: catalog, progress: progress)
        }
        return ConsistencyReport(strategies: results)
    }
}
