import ArgumentParser
import Redis
import StrataOperations

/// `strata stats`: a compact live view of a Redis's key numbers, or of the cache instances that
/// publish their statistics to it.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print a Redis's key numbers every interval, or (--instances) those of the cache instances publishing to it.",
        discussion: """
            Server view (default): one line per interval, like vmstat: ops/s is Redis's instantaneous rate; hit %, \
            evicted and expired are for the interval (the first line covers the time since the server started).

            Instance view (--instances): every cache instance that runs a CacheStatisticsPublisher writes its \
            statistics to the hash strata:stats:<instance> (with a short TTL, so stopped instances disappear). \
            One block per interval, one line per instance: hit ratio over both tiers, per tier (mem, dist), loads, \
            loader failures, stale values served, distributed-tier errors, breaker state and in-process entries. \
            Numbers cover the interval (the first block: since each instance started). --json prints one reading \
            as JSON and exits.

            Stop with Ctrl-C, or bound it with --count.

            Examples:
              strata stats redis://127.0.0.1:6379 --interval 2 --count 30
              strata stats redis://127.0.0.1:6379 --instances
              strata stats redis://127.0.0.1:6379 --instances --json
            """
    )

    @Argument(help: "The server: redis://[user:password@]host:port.")
    var url = "redis://127.0.0.1:6379"

    @Option(help: "Seconds between readings.")
    var interval: Double = 1

    @Option(help: "Stop after this many readings (default: until interrupted).")
    var count: Int?

    @Flag(help: "Show the cache instances publishing to strata:stats:* instead of the server.")
    var instances = false

    @Flag(help: "With --instances: print one reading as JSON and exit.")
    var json = false

    func run() async throws {
        guard let configuration = RedisConnectionConfiguration(url: url) else { throw ValidationError("the URL must look like redis://host:port") }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        guard instances || !json else { throw ValidationError("--json needs --instances") }
        let connection = try await RedisConnection.connect(configuration: configuration)
        try await connection.closing { connection in
            if instances {
                let monitor = CacheInstanceStatsMonitor(executor: connection, interval: .seconds(interval), count: count)
                if json {
                    print(try await monitor.once())
                } else {
                    try await monitor.run { print($0) }
                }
            } else {
                try await RedisStatsMonitor(executor: connection, interval: .seconds(interval), count: count).run { print($0) }
            }
        }
    }
}
