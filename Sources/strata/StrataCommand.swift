import ArgumentParser

/// `strata`: the command-line entry point. Each subcommand is a thin shell over a testable type.
@main
struct StrataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Production caching on Redis: benchmarks and tools.",
        subcommands: [
            DemoCommand.self, CheckCommand.self, DoctorCommand.self, WarmCommand.self, StatsCommand.self, BenchCommand.self,
            WriteBehindWorkerCommand.self,
        ]
    )
}

/// `strata bench`: measurements against a reference in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that compare Strata against a reference in the same run.",
        subcommands: [BenchCacheCommand.self, BenchClientCommand.self, BenchFailoverCommand.self, BenchHitRatioCommand.self]
    )
}
