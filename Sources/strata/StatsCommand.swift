import ArgumentParser
import Redis
import StrataOperations

/// `strata stats`: a compact live view of a Redis's key numbers.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print a Redis's key numbers (ops/s, hit ratio, memory, fragmentation, clients, evictions) every interval.",
        discussion: """
            One line per interval, like vmstat: ops/s is Redis's instantaneous rate; hit %, evicted and expired \
            are for the interval (the first line covers the time since the server started). Stop with Ctrl-C, \
            or bound it with --count.

            Example:
              strata stats redis://127.0.0.1:6379 --interval 2 --count 30
            """
    )

    @Argument(help: "The server: redis://[user:password@]host:port.")
    var url = "redis://127.0.0.1:6379"

    @Option(help: "Seconds between lines.")
    var interval: Double = 1

    @Option(help: "Stop after this many lines (default: until interrupted).")
    var count: Int?

    func run() async throws {
        guard let configuration = RedisConnectionConfiguration(url: url) else { throw ValidationError("the URL must look like redis://host:port") }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        let connection = try await RedisConnection.connect(configuration: configuration)
        let monitor = RedisStatsMonitor(executor: connection, interval: .seconds(interval), count: count)
        do {
            try await monitor.run { print($0) }
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }
}
