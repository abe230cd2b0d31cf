/// Plain reads and writes that never call a loader.
extension StrataCache {
    /// Returns the fresh cached value for `key` from either tier, or `nil` (never loads).
    ///
    /// A distributed hit is copied into the in-process tier, unless an invalidation of the key
    /// arrived while it was fetched. A cached "not found" also returns `nil`.
    nonisolated(nonsending) public func cachedValue<Value: Sendable>(for key: CacheKey<Value>, options: CacheEntryOptions? = nil) async throws -> Value? {
        let options = try resolvedOptions(options, for: key)
        let now = clock.now
        let namespace = key.namespace.name
        if options.tiers.contains(.readMemory), memory != nil {
            if let entry = memoryEntry(for: key), now < entry.localFreshUntil {
                record(.hit(.memory, namespace: namespace))
                return entry.resolved.value(as: Value.self)
            }
            record(.miss(.memory, namespace: namespace))
        }
        guard options.tiers.contains(.readDistributed), distributed != nil else { return nil }
        let stamp = removalStamp(for: key)
        guard case .found(let entry) = await readDistributed(key: key), now < entry.metadata.freshUntil else {
            record(.miss(.distributed, namespace: namespace))
            return nil
        }
        record(.hit(.distributed, namespace: namespace))
        storeInMemory(key: key, entry: entry, options: options, now: now, unlessRemovedSince: stamp)
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
        var entry = makeEntry(value: value, options: options, now: now, recompute: .zero)
        entry.metadata.tagStamps = await currentStamps(key, options: options, value: value)
        let stored = await storeDistributed(key: key, entry: entry, options: options, now: now)
        storeOwnWrite(key: key, entry: entry, options: options, now: now)
        let announced = await announce([key.storageKey])
        return stored == .stored && announced
    }

    /// Removes `key` from this process's in-process tier and the distributed tier, and tells the
    /// other instances (through the invalidation bus, when configured) to drop their copies.
    ///
    /// On a ``CoherentCacheTier`` the removal also voids any outstanding lease, so a load that read
    /// the source before this call can no longer fill the entry (write-around stays correct).
    /// - Returns: `false` when the distributed tier or the bus could not be reached (counted and
    ///   logged; does not throw).
    @discardableResult
    public func remove<Value: Sendable>(_ key: CacheKey<Value>) async -> Bool {
        await invalidate(key, version: nil)
    }

    /// Write-around after a write to the source of truth: removes `key` everywhere, voids leases,
    /// and — with the version the source just committed — refuses any later fill of an older
    /// version, even one that outlived its lease.
    ///
    /// - Returns: `false` when the distributed tier or the bus could not be reached.
    @discardableResult
    public func invalidate<Value: Sendable>(_ key: CacheKey<Value>, version: Int64?) async -> Bool {
        var removed = true
        if let distributed {
            let now = clock.now
            if let coherentTier {
                removed = await distributed.call(.remove, now: now, record: record) {
                    try await coherentTier.invalidate(key.storageKey, version: version)
                } != nil
            } else {
                removed = await distributed.remove([key.storageKey], now: now, record: record)
            }
        }
        // After the distributed removal, not before: see `forgetOlderReads(of:)`.
        forgetOlderReads(of: key)
        let announced = await announce([key.storageKey])
        return removed && announced
    }

    /// Double delete: removes `key` now and once more after `delay`, which catches a stale fill
    /// that raced the first removal. The second delete runs under ``run()`` and happens even if
    /// the caller's task is cancelled. Without `run()`, this call waits for it.
    ///
    /// - Returns: whether the first removal reached every tier.
    @discardableResult
    public func remove<Value: Sendable>(_ key: CacheKey<Value>, againAfter delay: Duration) async -> Bool {
        let removed = await remove(key)
        let second: @Sendable () async -> Void = { [clock] in
            try? await clock.sleep(for: delay)
            await self.remove(key)
            self.record(.delayedDeleteCompleted(namespace: key.namespace.name))
        }
        if !background.submit(second) { await second() }
        return removed
    }

    /// Write-through: stores `value` (just written to the source of truth as `version`) in every
    /// tier, unless the distributed tier already holds a newer version or an invalidation of a
    /// newer version was recorded — so a slower, older write can never overwrite a newer one.
    ///
    /// - Returns: the distributed tier's verdict (`nil` when it could not be reached).
    @discardableResult
    public func write<Value: Sendable>(
        _ value: Value, for key: CacheKey<Value>, version: Int64, options: CacheEntryOptions? = nil
    ) async throws -> FillOutcome? {
        let options = try resolvedOptions(options, for: key)
        let now = clock.now
        var entry = makeEntry(value: value, options: options, now: now, recompute: .zero)
        entry.metadata.dataVersion = version
        entry.metadata.tagStamps = await currentStamps(key, options: options, value: value)
        var outcome: FillOutcome? = .stored
        if options.tiers.contains(.writeDistributed), let coherentTier {
            guard let bytes = encodeEntry(entry, codec: key.namespace.codec) else { return nil }
            let timeToLive = max(now.duration(to: entry.metadata.staleUntil), .milliseconds(1))
            outcome = await conditionalFill(coherentTier, key: key, bytes: bytes, timeToLive: timeToLive, version: version, leaseToken: nil)
        } else if await storeDistributed(key: key, entry: entry, options: options, now: now) != .stored {
            outcome = nil
        }
        if outcome == .stored {
            storeOwnWrite(key: key, entry: entry, options: options, now: now)
        } else {
            forgetOlderReads(of: key)
        }
        await announce([key.storageKey])
        return outcome
    }

    /// Refuses every later fill of `key` older than `version` without touching the cached value:
    /// raises the key's version watermark in a ``CoherentCacheTier``.
    ///
    /// For write-behind: the cache already shows `version` while the source still holds an older
    /// row, so a loader that reads that row must not re-cache it once the entry expires or is
    /// evicted. Only fills that carry a version (``CacheNamespace/dataVersion``) are checked.
    /// - Returns: `false` when the tier is not coherent or could not be reached (counted).
    @discardableResult
    public func raiseVersionWatermark<Value: Sendable>(_ key: CacheKey<Value>, to version: Int64) async -> Bool {
        guard let coherentTier, let distributed else { return false }
        return await distributed.call(.set, now: clock.now, record: record) {
            try await coherentTier.raiseWatermark(key.storageKey, to: version)
        } != nil
    }

    /// Empties this process's in-process tier.
    public func removeAllFromMemory() {
        memory?.removeAll()
    }

    /// After this instance's own write reached the distributed tier: drops the in-process copy and
    /// retires the load in flight for `key`.
    ///
    /// Not before the distributed tier changed: until then a read in this process may fetch the old
    /// value there and keep it in the in-process tier, and a load may hand it to later callers. The
    /// removal voids the stamp such a read would store under, and the bus never delivers this
    /// instance's own messages to evict it later (read-your-writes rests on this call alone).
    private func forgetOlderReads<Value: Sendable>(of key: CacheKey<Value>) {
        memory?.removeValue(forKey: key.storageKey)
        flights.invalidated(key.storageKey)
    }

    /// Puts this instance's own write in the in-process tier once the distributed tier has it
    /// (see ``forgetOlderReads(of:)``: a plain store would leave older reads' stamps valid).
    private func storeOwnWrite<Value: Sendable>(key: CacheKey<Value>, entry: ResolvedEntry, options: CacheEntryOptions, now: CacheInstant) {
        forgetOlderReads(of: key)
        storeInMemory(key: key, entry: entry, options: options, now: now, unlessRemovedSince: nil)
    }
}
