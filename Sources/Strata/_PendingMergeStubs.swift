// TEMPORARY: stand-ins for types being built on other branches (memory, tier). Deleted at merge.
import Synchronization

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

