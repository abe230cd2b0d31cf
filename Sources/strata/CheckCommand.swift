import ArgumentParser
import Foundation
import StrataDemo

/// `strata check`: correctness checks against a live Redis.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Correctness checks of caching strategies against a real Redis.",
        subcommands: [CheckConsistencyCommand.self]
    )
}

/// `strata check consistency`: counts stale reads per invalidation strategy.
struct CheckConsistencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Count stale reads per invalidation strategy under concurrent writes with adversarial delays.",
        discussion: """
            Several application instances (each with its own client and cache) read and write a few hot \
            products in a versioned SQLite catalogue. Loaders wait after reading the source, so a fill can \
            arrive after a newer write; writers wait between committing and invalidating. Every operation is \
            recorded; a read is stale when it started after a write's invalidation was acknowledged and \
            returned an older version. Reads bypass the in-process tier.

            Starts a private redis-server unless --redis is given (the check runs FLUSHALL on it).

            Examples:
              strata check consistency --operations 20000
              strata check consistency --json > consistency.json
            """
    )

    @Option(help: "Use this Redis (redis://host:port) instead of a private one. The check runs FLUSHALL on it.")
    var redis: String?

    @Option(help: "Operations (reads and writes) per strategy.")
    var operations = 100_000

    @Option(help: "Application instances.")
    var instances = 3

    @Flag(help: "Print JSON on stdout (progress goes to stderr).")
    var json = false

    func run() async throws {
        let checker = ConsistencyChecker(configuration: .init(operations: operations, instances: instances))
        let progress = DemoProgress { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let report = try await checker.run(redisURL: redis, progress: progress)
        print(json ? try report.renderJSON() : report.renderText())
    }
}
