import Synchronization

/// One row of the demo's product catalogue.
public struct Product: Codable, Sendable, Hashable {
    /// The primary key.
    public var id: Int
    /// A display name.
    public var name: String
    /// The price in cents; what writers change.
    public var priceCents: Int
    /// The row version, incremented by every write.
    public var version: Int64
}

/// The demo's source of truth: an SQLite product catalogue with realistic injected query latency,
/// counting every query so scenarios can report source load.
public final class ProductCatalog: Sendable {
    /// Settings for the catalogue.
    public struct Configuration: Sendable {
        /// How many products exist (ids 0 ..< rows).
        public var rows: Int
        /// Each query waits a uniformly random time in this range, as a network database would.
        public var latency: ClosedRange<Duration>

        /// Creates a configuration.
        public init(rows: Int = 100_000, latency: ClosedRange<Duration> = .milliseconds(2) ... .milliseconds(20)) {
            self.rows = rows
            self.latency = latency
        }
    }

    /// Thrown while the catalogue is made to fail (the "source outage" fault).
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "the product database is unavailable" }
    }

    let configuration: Configuration
    private let database: SQLiteDatabase
    private let queries = Atomic<Int>(0)
    private let failing = Atomic<Bool>(false)
    private let timeline = Mutex<Timeline?>(nil)

    /// Opens (creating and filling) a catalogue at `path`.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
        try database.execute(
            "CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, version INTEGER NOT NULL)")
        let existing = try database.query("SELECT COUNT(*) FROM products", columns: 1).first?.first?.integer ?? 0
        if existing < configuration.rows {
            // One statement that generates the rows inside SQLite: a row-by-row insert spent most
            // of the demo's setup preparing and binding 100,000 statements.
            _ = try database.query(
                """
                WITH RECURSIVE ids(id) AS (SELECT ? UNION ALL SELECT id + 1 FROM ids WHERE id + 1 < ?)
                INSERT INTO products (id, name, price_cents, version)
                SELECT id, 'Product ' || id, 100 + (id * 7919) % 100000, 1 FROM ids
                """,
                [.integer(existing), .integer(Int64(configuration.rows))], columns: 0)
        }
    }

    /// Queries answered so far.
    public var queryCount: Int { queries.load(ordering: .relaxed) }

    /// Where queries are counted over time (the running scenario's timeline).
    func attach(_ timeline: Timeline?) { self.timeline.withLock { $0 = timeline } }

    /// Makes every query fail (true) or succeed again (false).
    public func setFailing(_ failing: Bool) { self.failing.store(failing, ordering: .relaxed) }

    /// Reads one product, after the injected latency.
    public func product(id: Int) async throws -> Product? {
        try await beginQuery()
        let rows = try database.query(
            "SELECT id, name, price_cents, version FROM products WHERE id = ?", [.integer(Int64(id))], columns: 4)
        return rows.first.map(Self.product(from:))
    }

    /// Reads one product at once, without the injected latency (a writer reading back its own row).
    public func productWithoutLatency(id: Int) async throws -> Product? {
        let rows = try database.query(
            "SELECT id, name, price_cents, version FROM products WHERE id = ?", [.integer(Int64(id))], columns: 4)
        return rows.first.map(Self.product(from:))
    }

    /// Reads several products in one query (one latency), for batch loaders.
    public func products(ids: [Int]) async throws -> [Int: Product] {
        try await beginQuery()
        guard !ids.isEmpty else { return [:] }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        let rows = try database.query(
            "SELECT id, name, price_cents, version FROM products WHERE id IN (\(placeholders))",
            ids.map { .integer(Int64($0)) }, columns: 4)
        var result: [Int: Product] = [:]
        for row in rows {
            let product = Self.product(from: row)
            result[product.id] = product
        }
        return result
    }

    /// Changes a product's price and returns its new version.
    @discardableResult
    public func updatePrice(id: Int, priceCents: Int) async throws -> Int64 {
        try await beginQuery()
        let rows = try database.query(
            "UPDATE products SET price_cents = ?, version = version + 1 WHERE id = ? RETURNING version",
            [.integer(Int64(priceCents)), .integer(Int64(id))], columns: 1)
        return rows.first?.first?.integer ?? 0
    }

    private func beginQuery() async throws {
        queries.wrappingAdd(1, ordering: .relaxed)
        timeline.withLock { $0 }?.record(.sourceQuery)
        let range = configuration.latency
        let low = range.lowerBound.cacheMicroseconds
        let high = range.upperBound.cacheMicroseconds
        try await Task.sleep(for: .microseconds(low == high ? low : Int64.random(in: low...high)))
        if failing.load(ordering: .relaxed) { throw Unavailable() }
    }

    private static func product(from row: [SQLiteDatabase.ColumnValue]) -> Product {
        Product(
            id: Int(row[0].integer ?? 0), name: row[1].text ?? "", priceCents: Int(row[2].integer ?? 0),
            version: row[3].integer ?? 0)
    }
}

extension Duration {
    var cacheMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
