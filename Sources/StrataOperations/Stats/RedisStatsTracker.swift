/// Turns successive `INFO` readings into one row of key numbers per interval: the logic of
/// `strata stats`, without I/O.
///
/// Counters (`keyspace_hits`, `evicted_keys`, ...) are shown per interval, as differences between
/// two readings; the first row compares with the counters since start. Gauges (memory, clients)
/// are shown as read.
public struct RedisStatsTracker: Sendable {
    /// One row of the view.
    public struct Row: Sendable, Hashable {
        /// `instantaneous_ops_per_sec`.
        public var operationsPerSecond: Int
        /// Hits / (hits + misses) during the interval; nil without lookups.
        public var hitRatio: Double?
        /// `used_memory`.
        public var usedMemory: Int
        /// `maxmemory`; 0 when unset.
        public var maxmemory: Int
        /// `mem_fragmentation_ratio`.
        public var fragmentation: Double
        /// `connected_clients`.
        public var clients: Int
        /// `blocked_clients`.
        public var blockedClients: Int
        /// Keys evicted during the interval.
        public var evicted: Int
        /// Keys expired during the interval.
        public var expired: Int
        /// Keys in all databases (`dbN:keys=`).
        public var keys: Int
    }

    private var previous: [String: String]?

    /// Creates a tracker with no reading yet.
    public init() {}

    /// Records a reading and returns the row for the interval since the previous one.
    public mutating func record(info: [String: String]) -> Row {
        func int(_ field: String, in fields: [String: String]?) -> Int { fields?[field].flatMap { Int($0) } ?? 0 }
        func delta(_ field: String) -> Int { max(0, int(field, in: info) - int(field, in: previous)) }
        let hits = delta("keyspace_hits")
        let misses = delta("keyspace_misses")
        let keys = info.filter { $0.key.hasPrefix("db") && Int($0.key.dropFirst(2)) != nil }.values.reduce(0) { total, value in
            total + (DoctorParsing.subfields(value)["keys"].flatMap { Int($0) } ?? 0)
        }
        let row = Row(
            operationsPerSecond: int("instantaneous_ops_per_sec", in: info),
            hitRatio: hits + misses == 0 ? nil : Double(hits) / Double(hits + misses),
            usedMemory: int("used_memory", in: info), maxmemory: int("maxmemory", in: info),
            fragmentation: info["mem_fragmentation_ratio"].flatMap { Double($0) } ?? 0,
            clients: int("connected_clients", in: info), blockedClients: int("blocked_clients", in: info),
            evicted: delta("evicted_keys"), expired: delta("expired_keys"), keys: keys
        )
        previous = info
        return row
    }

    private static let widths = [10, 8, 24, 7, 9, 9, 12, 10, 10]

    private static func columns(_ cells: [String]) -> String { Format.columns(cells, widths: widths) }

    /// Column titles matching ``line(_:)``.
    public static let header = columns(["ops/s", "hit %", "used / max memory", "frag", "clients", "blocked", "keys", "evicted", "expired"])

    /// One fixed-width line for a row; hit %, evicted and expired cover the interval.
    public static func line(_ row: Row) -> String {
        columns([
            String(row.operationsPerSecond), row.hitRatio.map { Format.ratio($0 * 100) } ?? "-",
            Format.bytes(row.usedMemory) + " / " + (row.maxmemory == 0 ? "none" : Format.bytes(row.maxmemory)),
            Format.ratio(row.fragmentation), String(row.clients), String(row.blockedClients), String(row.keys),
            String(row.evicted), String(row.expired),
        ])
    }
}
