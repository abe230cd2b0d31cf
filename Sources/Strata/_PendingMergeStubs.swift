// TEMPORARY: stand-ins for types being built on other branches (memory, tier). Deleted at merge.
import Synchronization

public protocol CacheCodec<Value>: Sendable {
    associatedtype Value
    var id: UInt8 { get }
    func encode(_ value: Value) throws -> [UInt8]
    func decode(_ bytes: [UInt8]) throws -> Value
}

public struct StringCacheCodec: CacheCodec {
    public init() {}
    public var id: UInt8 { 3 }
    public func encode(_ value: String) throws -> [UInt8] { Array(value.utf8) }
    public func decode(_ bytes: [UInt8]) throws -> String { String(decoding: bytes, as: UTF8.self) }
}

public final class MemoryCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let storage = Mutex<[Key: (Value, CacheInstant?)]>([:])
    private let clock: any CacheClock
    public init(maximumEntries: Int, clock: any CacheClock) { self.clock = clock }
    public func value(forKey key: Key) -> Value? {
        storage.withLock { s in
            guard let (v, exp) = s[key] else { return nil }
            if let exp, exp <= clock.now { s[key] = nil; return nil }
            return v
        }
    }
    public func setValue(_ value: Value, forKey key: Key, expiresAt: CacheInstant?) { storage.withLock { $0[key] = (value, expiresAt) } }
    @discardableResult public func removeValue(forKey key: Key) -> Value? { storage.withLock { $0.removeValue(forKey: key)?.0 } }
    public func removeAll() { storage.withLock { $0.removeAll() } }
    public func removeAll(where predicate: (Key, Value) -> Bool) { storage.withLock { s in s = s.filter { !predicate($0.key, $0.value.0) } } }
    public var count: Int { storage.withLock { $0.count } }
}

public struct CacheEnvelope: Sendable, Equatable {
    public var codecID: UInt8
    public var isNegative: Bool
    public var createdAt: CacheInstant
    public var freshUntil: CacheInstant
    public var staleUntil: CacheInstant
    public var recomputeMilliseconds: UInt32
    public var dataVersion: Int64?
    public var payload: [UInt8]
    public init(codecID: UInt8, isNegative: Bool, createdAt: CacheInstant, freshUntil: CacheInstant, staleUntil: CacheInstant, recomputeMilliseconds: UInt32, dataVersion: Int64?, payload: [UInt8]) {
        self.codecID = codecID; self.isNegative = isNegative; self.createdAt = createdAt; self.freshUntil = freshUntil
        self.staleUntil = staleUntil; self.recomputeMilliseconds = recomputeMilliseconds; self.dataVersion = dataVersion; self.payload = payload
    }
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [0x53, isNegative ? 1 : 0, codecID]
        for v in [createdAt.millisecondsSinceEpoch, freshUntil.millisecondsSinceEpoch, staleUntil.millisecondsSinceEpoch, Int64(recomputeMilliseconds), dataVersion ?? -1] {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        return out + payload
    }
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 43, bytes[0] == 0x53 else { throw CacheError(.decodingFailed, "bad envelope") }
        func i64(_ o: Int) -> Int64 { var v: Int64 = 0; for k in 0..<8 { v |= Int64(bytes[o + k]) << (8 * k) }; return v }
        self.init(codecID: bytes[2], isNegative: bytes[1] == 1, createdAt: .init(millisecondsSinceEpoch: i64(3)), freshUntil: .init(millisecondsSinceEpoch: i64(11)), staleUntil: .init(millisecondsSinceEpoch: i64(19)), recomputeMilliseconds: UInt32(i64(27)), dataVersion: i64(35) == -1 ? nil : i64(35), payload: Array(bytes[43...]))
    }
}

struct BreakerStub: Sendable {
    func allows(now: CacheInstant) -> Bool { true }
    func record(success: Bool, now: CacheInstant) {}
}
