public import Redis

/// Reads `INFO` every interval and hands a formatted line to `output`: the I/O shell of
/// `strata stats`.
public struct RedisStatsMonitor<Executor: RedisCommandExecutor>: Sendable {
    private let executor: Executor
    /// Time between readings.
    public var interval: Duration
    /// How many rows to print; nil runs until cancelled.
    public var count: Int?
    /// How many rows between repeated headers.
    public var headerEvery: Int

    /// Creates a monitor over `executor`.
    public init(executor: Executor, interval: Duration = .seconds(1), count: Int? = nil, headerEvery: Int = 20) {
        self.executor = executor
        self.interval = interval
        self.count = count
        self.headerEvery = max(1, headerEvery)
    }

    /// Prints rows until ``count`` rows were printed or the task is cancelled (which ends it quietly).
    ///
    /// - Throws: ``RedisError`` when `INFO` fails.
    public func run(output: (String) -> Void) async throws(RedisError) {
        var tracker = RedisStatsTracker()
        var printed = 0
        while count.map({ printed < $0 }) ?? true {
            let info = try await executor.send(INFO("all"))
            if printed % headerEvery == 0 { output(RedisStatsTracker.header) }
            output(RedisStatsTracker.line(tracker.record(info: info)))
            printed += 1
            if let count, printed >= count { break }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
