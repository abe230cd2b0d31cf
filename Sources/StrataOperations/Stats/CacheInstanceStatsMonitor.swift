public import Redis

/// Reads every instance's published statistics every interval and hands formatted lines to
/// `output`: the I/O shell of `strata stats --instances`.
public struct CacheInstanceStatsMonitor<Executor: RedisCommandExecutor>: Sendable {
    private let executor: Executor
    /// Time between readings.
    public var interval: Duration
    /// How many readings to print; nil runs until cancelled.
    public var count: Int?

    /// Creates a monitor over `executor`.
    public init(executor: Executor, interval: Duration = .seconds(2), count: Int? = nil) {
        self.executor = executor
        self.interval = interval
        self.count = count
    }

    /// Prints one block per reading (a header, then one line per instance) until ``count``
    /// readings were printed or the task is cancelled (which ends it quietly).
    ///
    /// - Throws: ``RedisError`` when a reading fails.
    public func run(output: (String) -> Void) async throws(RedisError) {
        var tracker = CacheInstanceStatsTracker()
        var printed = 0
        while count.map({ printed < $0 }) ?? true {
            let rows = tracker.record(try await CacheInstanceStatsReader.read(from: executor))
            var block = [CacheInstanceStatsTracker.header]
            block += rows.isEmpty ? ["(no instance publishes to strata:stats:*)"] : rows.map(CacheInstanceStatsTracker.line)
            output(block.joined(separator: "\n") + "\n")
            printed += 1
            if let count, printed >= count { break }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// One reading, as JSON (counts since each instance started).
    ///
    /// - Throws: ``RedisError`` when the reading fails.
    public func once() async throws(RedisError) -> String {
        var tracker = CacheInstanceStatsTracker()
        return CacheInstanceStatsTracker.json(tracker.record(try await CacheInstanceStatsReader.read(from: executor)))
    }
}
