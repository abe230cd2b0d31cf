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
            recorded, with the moment each instance's invalidation bus delivered each invalidation. A read \
            is stale when it returned a version older than a write whose invalidation its instance had \
            already received (the writer's own instance: had acknowledged) before the read started. Reads \
            that lagged only until then (they joined a load in flight, or hit an in-process tier) are \
            reported apart, with the propagation time. Strategies skip the in-process tier except \
            "leases + in-process tier".

            --nemesis injects faults in turn while the operations run: kill (CLIENT KILL of every \
            instance's connections), pause (CLIENT PAUSE 200 ms), restart (SIGKILL the private server and \
            start it again empty; not with --redis).

            Starts a private redis-server unless --redis is given (the check runs FLUSHALL on it). \
            --redis takes redis://host:port (a Cluster node means the whole cluster) or \
            redis+sentinel://host:port[,host:port]/service.

            Examples:
              strata check consistency --operations 20000
              strata check consistency --json > consistency.json
              strata check consistency --operations 20000 --nemesis kill,pause,restart
            """
    )

    @Option(help: "Use this Redis (redis://host:port, a Cluster node, or redis+sentinel://host:port/service) instead of a private one. The check runs FLUSHALL on it.")
    var redis: String?

    @Option(help: "Operations (reads and writes) per strategy.")
    var operations = 100_000

    @Option(help: "Application instances.")
    var instances = 3

    @Option(help: "Faults to inject in turn, comma-separated: kill, pause, restart.")
    var nemesis: String?

    @Option(help: "How instances learn of each other's writes: pubsub (numbered pub/sub messages) or tracking (Redis client tracking).")
    var bus: String = "pubsub"

    @Flag(help: "Print JSON on stdout (progress goes to stderr).")
    var json = false

    func run() async throws {
        var faults: [ConsistencyChecker.NemesisFault] = []
        for name in (nemesis ?? "").split(separator: ",") {
            guard let fault = ConsistencyChecker.NemesisFault(rawValue: String(name)) else {
                throw ValidationError("unknown fault '\(name)': use kill, pause or restart")
            }
            faults.append(fault)
        }
        guard let busKind = ConsistencyChecker.Bus(rawValue: bus) else { throw ValidationError("unknown bus '\(bus)': use pubsub or tracking") }
        let checker = ConsistencyChecker(configuration: .init(operations: operations, instances: instances, nemesis: faults, bus: busKind))
        let progress = DemoProgress { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let report = try await checker.run(redisURL: redis, progress: progress)
        print(json ? try report.renderJSON() : report.renderText())
    }
}
