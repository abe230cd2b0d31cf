public import NIOCore
public import RESP

extension RedisCommandExecutor {
    /// The value at `key`, or nil.
    public func get(_ key: String) async throws(RedisError) -> ByteBuffer? {
        try await send(GET(key), timeout: nil)
    }

    /// Stores `value` at `key`; returns false when `condition` was not met.
    @discardableResult
    public func set(
        _ key: String, to value: some RESPArgument & Sendable, expiration: RedisExpiration? = nil,
        condition: RedisSetCondition? = nil
    ) async throws(RedisError) -> Bool {
        try await send(SET(key, value, expiration: expiration, condition: condition), timeout: nil)
    }

    /// Deletes keys; returns how many existed.
    @discardableResult
    public func delete(_ keys: String...) async throws(RedisError) -> Int {
        try await send(DEL(keys), timeout: nil)
    }

    /// Unlinks keys (background reclamation); returns how many existed.
    @discardableResult
    public func unlink(_ keys: String...) async throws(RedisError) -> Int {
        try await send(UNLINK(keys), timeout: nil)
    }

    /// The values at `keys`, nil where absent.
    public func mget(_ keys: [String]) async throws(RedisError) -> [ByteBuffer?] {
        try await send(MGET(keys), timeout: nil)
    }

    /// Increments the integer at `key`; returns the new value.
    @discardableResult
    public func increment(_ key: String, by amount: Int = 1) async throws(RedisError) -> Int {
        try await send(INCRBY(key, by: amount), timeout: nil)
    }

    /// `PING`.
    @discardableResult
    public func ping() async throws(RedisError) -> String {
        try await send(PING(), timeout: nil)
    }

    /// Walks every key matching `match` with `SCAN`, page by page.
    public func scanAll(match: String? = nil, count: Int? = nil, type: String? = nil) async throws(RedisError) -> [String] {
        var cursor: UInt64 = 0
        var keys: [String] = []
        repeat {
            let page = try await send(SCAN(cursor: cursor, match: match, count: count, type: type), timeout: nil)
            keys.append(contentsOf: page.keys)
            cursor = page.cursor
        } while cursor != 0
        return keys
    }
}
