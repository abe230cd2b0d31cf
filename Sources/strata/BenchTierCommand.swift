import ArgumentParser

/// Temporary hidden `strata bench tier`, to measure ``RedisTierBenchmark``.
struct BenchTierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tier", shouldDisplay: false)

    @Option var requests = 20_000
    @Option var rounds = 5

    func run() async throws {
        var benchmark = RedisTierBenchmark()
        benchmark.requests = requests
        benchmark.rounds = rounds
        print(try await benchmark.run().table())
    }
}
