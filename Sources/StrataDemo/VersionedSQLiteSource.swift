/// A versioned record table in SQLite: the source of truth of the write-behind demo and proofs.
///
/// ``apply(key:payload:version:)`` is the idempotent write a write-behind worker needs: one
/// statement that inserts the record or updates it only when the stored version is older,
///
/// ```sql
/// INSERT INTO records(key, version, payload) VALUES (?1, ?2, ?3)
/// ON CONFLICT(key) DO UPDATE SET version = excluded.version, payload = excluded.payload
/// WHERE records.version < excluded.version
/// RETURNING version
/// ```
///
/// so a redelivered or out-of-order older write changes nothing. Triggers append every change
/// that did happen to an `effects` log in the same transaction, which is how the proofs count
/// effects: a duplicate effect would be the same key and version logged twice.
///
/// Several processes may open the same file (WAL mode, 5 s busy timeout). Commits are durable
/// before `apply` returns (`synchronous = FULL`).
public final class VersionedSQLiteSource: Sendable {
    private let database: SQLiteDatabase

    /// Opens (creating if needed) the database at `path`.
    ///
    /// - Throws: ``SQLiteError`` when the file cannot be opened or the schema created.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA busy_timeout = 5000")
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = FULL")
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, version INTEGER NOT NULL, payload TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS effects (sequence INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, version INTEGER NOT NULL);
            CREATE TRIGGER IF NOT EXISTS records_inserted AFTER INSERT ON records
              BEGIN INSERT INTO effects(key, version) VALUES (NEW.key, NEW.version); END;
            CREATE TRIGGER IF NOT EXISTS records_updated AFTER UPDATE ON records
              BEGIN INSERT INTO effects(key, version) VALUES (NEW.key, NEW.version); END;
            """)
    }

    /// Stores `payload` as `version` of `key` unless the stored version is the same or newer.
    ///
    /// - Returns: whether the record changed (false: a redelivery or an overtaken write).
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public func apply(key: String, payload: [UInt8], version: Int64) throws -> Bool {
        let rows = try database.query(
            """
            INSERT INTO records(key, version, payload) VALUES (?1, ?2, ?3)
            ON CONFLICT(key) DO UPDATE SET version = excluded.version, payload = excluded.payload
            WHERE records.version < excluded.version
            RETURNING version
            """,
            [.text(key), .integer(version), .text(Self.hex(payload))], columns: 1)
        return !rows.isEmpty
    }

    /// Every record's version, by key.
    public func versions() throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try database.query("SELECT key, version FROM records", columns: 2) {
            if let key = row[0].text, let version = row[1].integer { result[key] = version }
        }
        return result
    }

    /// Every change made, in commit order.
    public func effects() throws -> [(key: String, version: Int64)] {
        try database.query("SELECT key, version FROM effects ORDER BY sequence", columns: 2).compactMap { row in
            guard let key = row[0].text, let version = row[1].integer else { return nil }
            return (key, version)
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
