import NIOCore
import RESP
import Redis

// Key commands with binary-safe keys. The Redis module's typed commands take `String` keys; a
// tool that walks someone else's keyspace must carry keys as bytes, or a key that is not valid
// UTF-8 would be read back as a different key.

/// `SCAN cursor [MATCH pattern] COUNT n`, keys as bytes.
struct ScanKeys: RedisCommand {
    struct Page: Sendable {
        var cursor: UInt64
        var keys: [ByteBuffer]
    }
    static var name: String { "SCAN" }
    var cursor: UInt64
    var match: String?
    var count: Int

    func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("SCAN", String(cursor), match.map { RESPOption("MATCH", $0) }, RESPOption("COUNT", count))
    }

    func decode(_ token: RESPToken) throws(RedisError) -> Page {
        guard case .array(let parts) = token.value, parts.count == 2 else {
            throw RedisError(.unexpectedReply, command: "SCAN", serverMessage: "expected [cursor, keys]")
        }
        var iterator = parts.makeIterator()
        guard let cursorToken = iterator.next(), let keysToken = iterator.next(),
            let cursor = UInt64(try String(fromRESP: cursorToken))
        else { throw RedisError(.unexpectedReply, command: "SCAN", serverMessage: "expected [cursor, keys]") }
        return Page(cursor: cursor, keys: try [ByteBuffer](fromRESP: keysToken))
    }
}

/// `PTTL key`: milliseconds left, -1 for no expiry, -2 for a missing key.
struct KeyPTTL: RedisCommand {
    typealias Response = Int
    static var name: String { "PTTL" }
    var key: ByteBuffer
    func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("PTTL", key) }
}

/// `DUMP key`: the serialized value, or null for a missing key.
struct KeyDump: RedisCommand {
    typealias Response = ByteBuffer?
    static var name: String { "DUMP" }
    var key: ByteBuffer
    func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("DUMP", key) }
}

/// `RESTORE key ttl payload [REPLACE]`.
struct KeyRestore: RedisCommand {
    typealias Response = RedisOK
    static var name: String { "RESTORE" }
    var key: ByteBuffer
    var timeToLiveMilliseconds: Int
    var payload: ByteBuffer
    var replace: Bool
    func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("RESTORE", key, timeToLiveMilliseconds, payload, replace ? RESPKeyword("REPLACE") : nil)
    }
}

/// `MEMORY USAGE key SAMPLES n`: bytes, or null for a missing key.
struct KeyMemoryUsage: RedisCommand {
    typealias Response = Int?
    static var name: String { "MEMORY" }
    var key: ByteBuffer
    var samples: Int
    func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("MEMORY", "USAGE", key, RESPOption("SAMPLES", samples))
    }
}

extension Result where Success == RESPToken, Failure == RedisError {
    /// The pipelined reply decoded as `T`, or nil for an error reply or a shape mismatch.
    func decoded<T: RESPDecodable>(as type: T.Type = T.self) -> T? {
        guard case .success(let token) = self else { return nil }
        return try? T(fromRESP: token)
    }
}
