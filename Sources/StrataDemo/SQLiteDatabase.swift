import CSQLite
import Synchronization

/// An error from SQLite: the result code and SQLite's message (never row contents).
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// SQLite's primary result code.
    public let code: Int32
    /// SQLite's explanation.
    public let message: String
    public var description: String { "SQLiteError(\(code)): \(message)" }
}

/// One SQLite connection shared by many tasks, one statement at a time.
///
/// The demo's source of truth is tiny and local; its realistic cost is the latency the catalogue
/// injects *outside* this lock, so serialising the statements themselves costs microseconds.
final class SQLiteDatabase: Sendable {
    /// The raw connection. Only touched inside `connection.withLock`, which serialises every use.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private let connection: Mutex<Handle>

    init(path: String) throws {
        var pointer: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &pointer, flags, nil)
        guard status == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let pointer { sqlite3_close(pointer) }
            throw SQLiteError(code: status, message: message)
        }
        connection = Mutex(Handle(pointer: pointer))
    }

    deinit {
        connection.withLock { _ = sqlite3_close($0.pointer) }
    }

    /// Runs SQL without results (schema, pragmas, transactions).
    func execute(_ sql: String) throws {
        try connection.withLock { handle in
            let status = sqlite3_exec(handle.pointer, sql, nil, nil, nil)
            guard status == SQLITE_OK else { throw Self.error(handle.pointer, status) }
        }
    }

    /// A bound value for a statement parameter.
    enum Parameter {
        case integer(Int64)
        case text(String)
    }

    /// Runs one statement with parameters and returns its rows, each as the given column values.
    func query(_ sql: String, _ parameters: [Parameter] = [], columns: Int) throws -> [[ColumnValue]] {
        try connection.withLock { handle in
            var statement: OpaquePointer?
            var status = sqlite3_prepare_v2(handle.pointer, sql, -1, &statement, nil)
            guard status == SQLITE_OK, let statement else { throw Self.error(handle.pointer, status) }
            defer { sqlite3_finalize(statement) }
            for (index, parameter) in parameters.enumerated() {
                let position = Int32(index + 1)
                switch parameter {
                case .integer(let value): status = sqlite3_bind_int64(statement, position, value)
                case .text(let value): status = sqlite3_bind_text(statement, position, value, -1, Self.transient)
                }
                guard status == SQLITE_OK else { throw Self.error(handle.pointer, status) }
            }
            var rows: [[ColumnValue]] = []
            while true {
                status = sqlite3_step(statement)
                if status == SQLITE_DONE { break }
                guard status == SQLITE_ROW else { throw Self.error(handle.pointer, status) }
                rows.append((0..<Int32(columns)).map { column in
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
                    case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, column)))
                    default: return .null
                    }
                })
            }
            return rows
        }
    }

    /// A column value read back.
    enum ColumnValue: Equatable {
        case integer(Int64)
        case text(String)
        case null

        var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
        var text: String? { if case .text(let value) = self { value } else { nil } }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func error(_ pointer: OpaquePointer, _ status: Int32) -> SQLiteError {
        SQLiteError(code: status, message: String(cString: sqlite3_errmsg(pointer)))
    }
}
