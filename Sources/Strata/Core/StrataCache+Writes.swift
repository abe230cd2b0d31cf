/// Plain reads and writes that never call a loader.
extension StrataCache {
    /// Returns the fresh cached value for `key` from either tier, or `nil` (never loads).
    ///
    /// A distributed hit is copied into the in-process tier. A cached "not found" also returns `nil`.
    public func cachedValue<Value: Sendable>(for key: CacheKey<Value>, options: CacheEntryOptions? = nil) async throws -> Value? {
        let options = try resolvedOptions(options, for: key)
        let now = clock.now
        let namespace = key.namespace.name
        if options.tiers.contains(.readMemory), let memory {
            if let entry = memory.value(forKey: key.storageKey), now < entry.localFreshUntil {
                record(.hit(.memory, namespace: namespace))
                return entry.resolved.value(as: Value.self)
            }
            record(.miss(.memory, namespace: namespace))
        }
        guard options.tiers.contains(.readDistributed), distributed != nil else { return nil }
        guard case .found(let entry) = await readDistributed(key: key), now < entry.metadata.freshUntil else {
            record(.miss(.distributed, namespace: namespace))
            return nil
        }
        record(.hit(.distributed, namespace: namespace))
        storeInMemory(key: key, entry: entry, options: options, now: now)
        return entry.value(as: Value.self)
    }

    /// Stores `value` under `key` in the tiers `options` names.
    ///
    /// The in-process tier is updated synchronously (read-your-writes in this process).
    /// - Returns: `true` when every tier that should have been written was written; `false` when the
    ///   distributed tier was unavailable (counted as a metric; the call does not throw for it).
    @discardableResult
    public func set<Value: Sendable>(_ value: Value, for key: CacheKey<Value>, options: CacheEntryOptions? = nil) async throws -> Bool {
        let options = try resolvedOptions(options, for: key)
        let now = clock.now
        let entry = makeEntry(value: value, options: options, now: now, recompute: .zero)
        storeInMemory(key: key, entry: entry, options: options, now: now)
        let stored = await storeDistributed(key: key, entry: entry, options: options, now: now)
        let announced = await announce([key.storageKey])
        return stored && announced
    }

    /// Removes `key` from this process's in-process tier and the distributed tier, and tells the
    /// other instances (through the invalidation bus, when configured) to drop their copies.
    ///
    /// - Returns: `false` when the distributed tier or the bus could not be reached (counted and
    ///   logged; does not throw).
    @discardableResult
    public func remove<Value: Sendable>(_ key: CacheKey<Value>) async -> Bool {
        memory?.removeValue(forKey: key.storageKey)
        var removed = true
        if let distributed {
            removed = await distributed.remove([key.storageKey], now: clock.now, record: record)
        }
        let announced = await announce([key.storageKey])
        return removed && announced
    }

    /// Empties this process's in-process tier.
    public func removeAllFromMemory() {
        memory?.removeAll()
    }
}
