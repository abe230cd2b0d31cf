import Strata

/// Turns successive readings of every instance into table rows: the logic of
/// `strata stats --instances`, without I/O.
///
/// Ratios and counts cover the interval since the previous reading of the same instance (or the
/// time since it started, for an instance seen for the first time), so the view shows what the
/// instances do now rather than an average since their start.
public struct CacheInstanceStatsTracker: Sendable {
    /// One instance's row.
    public struct Row: Sendable, Hashable, Codable {
        /// The instance name.
        public var instance: String
        /// In-process hits over in-process lookups; nil without lookups.
        public var memoryHitRatio: Double?
        /// Distributed hits over distributed lookups; nil without lookups.
        public var distributedHitRatio: Double?
        /// Hits in either tier over all lookups; nil without lookups.
        public var hitRatio: Double?
        /// Loader calls that returned.
        public var loads: Int
        /// Loader calls that failed or timed out.
        public var loadFailures: Int
        /// Stale values served.
        public var staleServed: Int
        /// Distributed-tier calls that failed or were skipped.
        public var distributedFailures: Int
        /// `closed`, `open`, `half_open` or `none`.
        public var breakerState: String
        /// Entries in the in-process tier.
        public var memoryEntries: Int
    }

    private struct Seen: Sendable {
        var reading: CacheInstanceStatistics
        var row: Row
    }

    private var seen: [String: Seen] = [:]

    /// Creates a tracker with no reading yet.
    public init() {}

    /// Records one reading of all instances and returns their rows; instances no longer present
    /// are forgotten. Reading the same publication again (the view refreshes faster than the
    /// instance publishes) repeats its row instead of showing an empty interval.
    public mutating func record(_ readings: [CacheInstanceStatistics]) -> [Row] {
        var next: [String: Seen] = [:]
        let rows = readings.map { reading in
            if let earlier = seen[reading.instance], earlier.reading == reading {
                next[reading.instance] = earlier
                return earlier.row
            }
            let row = Self.row(reading.instance, reading.statistics.since(seen[reading.instance]?.reading.statistics))
            next[reading.instance] = Seen(reading: reading, row: row)
            return row
        }
        seen = next
        return rows
    }

    static func row(_ instance: String, _ interval: CacheStatistics) -> Row {
        Row(
            instance: instance, memoryHitRatio: interval.memoryHitRatio, distributedHitRatio: interval.distributedHitRatio,
            hitRatio: interval.hitRatio, loads: interval.loads, loadFailures: interval.loadFailures,
            staleServed: interval.staleServed, distributedFailures: interval.distributedFailures,
            breakerState: interval.breakerState, memoryEntries: interval.memoryEntries
        )
    }

    private static let widths = [-24, 8, 8, 8, 8, 7, 7, 8, 10, 9]

    private static func columns(_ cells: [String]) -> String { Format.columns(cells, widths: widths) }

    /// Column titles matching ``line(_:)``.
    public static let header = columns(["instance", "hit %", "mem %", "dist %", "loads", "fail", "stale", "l2 err", "breaker", "entries"])

    /// One fixed-width line for a row; an instance name longer than its column is cut.
    public static func line(_ row: Row) -> String {
        func percent(_ ratio: Double?) -> String { ratio.map { Format.ratio($0 * 100) } ?? "-" }
        let name = row.instance.count > 23 ? String(row.instance.prefix(22)) + "…" : row.instance
        return columns([
            name, percent(row.hitRatio), percent(row.memoryHitRatio), percent(row.distributedHitRatio), String(row.loads),
            String(row.loadFailures), String(row.staleServed), String(row.distributedFailures), row.breakerState,
            String(row.memoryEntries),
        ])
    }

    /// The rows as a JSON array with sorted keys.
    public static func json(_ rows: [Row]) -> String { Format.json(rows) }
}

extension CacheStatistics {
    /// The counters accumulated since `earlier` (all of them without one, or after a restart made
    /// a counter go down); gauges (entries, breaker) as now.
    func since(_ earlier: CacheStatistics?) -> CacheStatistics {
        guard let earlier, memoryHits + memoryMisses >= earlier.memoryHits + earlier.memoryMisses else { return self }
        var delta = self
        delta.memoryHits -= earlier.memoryHits
        delta.memoryMisses -= earlier.memoryMisses
        delta.distributedHits -= earlier.distributedHits
        delta.distributedMisses -= earlier.distributedMisses
        delta.loads = max(0, loads - earlier.loads)
        delta.loadFailures = max(0, loadFailures - earlier.loadFailures)
        delta.staleServed = max(0, staleServed - earlier.staleServed)
        delta.distributedFailures = max(0, distributedFailures - earlier.distributedFailures)
        return delta
    }
}
