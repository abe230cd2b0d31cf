#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Hummingbird
import NIOCore
public import Redis
import RESP

/// Strata's Redis as a Hummingbird `PersistDriver`: sessions, rate-limit counters and other
/// small keyed state in the same Redis (standalone or Sentinel) that holds the cache, in one line:
///
/// ```swift
/// let persist = StrataPersistDriver(client: redis)
/// router.add(middleware: SessionMiddleware(storage: persist))
/// ```
///
/// Values are JSON under `<keyPrefix><key>`; expiries are Redis TTLs (`PX`). `create` is
/// `SET … NX` (atomic across instances); `set` without `expires` keeps an existing TTL
/// (`KEEPTTL`). Every call has its own deadline; Redis errors are thrown as `RedisError`.
public struct StrataPersistDriver: PersistDriver {
    /// The running client.
    public let client: RedisClient
    /// Prefix of every key this driver writes.
    public let keyPrefix: String
    /// The deadline of each call.
    public let operationTimeout: Duration

    /// Creates a driver (the client must be running in the application's service group).
    public init(client: RedisClient, keyPrefix: String = "strata:persist:", operationTimeout: Duration = .milliseconds(500)) {
        self.client = client
        self.keyPrefix = keyPrefix
        self.operationTimeout = operationTimeout
    }

    /// The client's lifecycle is the application's; nothing runs here.
    public func run() async throws {}

    /// Stores `value` unless `key` exists (`PersistError.duplicate`).
    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let reply = try await command(["SET", keyPrefix + key, try encode(value), "NX"] + expiry(expires))
        if reply == .null { throw PersistError.duplicate }
    }

    /// Stores `value`; without `expires`, an existing expiry is kept.
    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        _ = try await command(["SET", keyPrefix + key, try encode(value)] + (expires == nil ? ["KEEPTTL"] : expiry(expires)))
    }

    /// The value of `key`, or `nil`; a value of another shape is `PersistError.invalidConversion`.
    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        guard case .bulkString(let buffer) = try await command(["GET", keyPrefix + key]) else { return nil }
        return try decode(buffer, as: type)
    }

    /// The value of `key` and its remaining time to live (`nil` when it has none).
    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let replies = try await client.pipeline(
            [RawCommand(["GET", keyPrefix + key]), RawCommand(["PTTL", keyPrefix + key])], timeout: timeout)
        guard replies.count == 2, case .bulkString(let buffer) = RESPValue(try replies[0].get()) else { return nil }
        let object = try decode(buffer, as: type)
        guard case .integer(let milliseconds) = RESPValue(try replies[1].get()), milliseconds >= 0 else { return (object, nil) }
        return (object, .milliseconds(milliseconds))
    }

    /// Removes `key`.
    public func remove(key: String) async throws {
        _ = try await command(["UNLINK", keyPrefix + key])
    }

    private var timeout: TimeAmount { .nanoseconds(Int64(operationTimeout.components.seconds) * 1_000_000_000 + operationTimeout.components.attoseconds / 1_000_000_000) }

    private func command(_ arguments: [String]) async throws -> RESPValue {
        try await client.rawValue(arguments, timeout: timeout)
    }

    private func expiry(_ expires: Duration?) -> [String] {
        guard let expires else { return [] }
        let milliseconds = max(1, expires.components.seconds * 1000 + expires.components.attoseconds / 1_000_000_000_000_000)
        return ["PX", String(milliseconds)]
    }

    private func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    private func decode<Object: Decodable>(_ buffer: ByteBuffer, as type: Object.Type) throws -> Object {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw PersistError.invalidConversion
        }
    }
}
