/// Batch get-or-load: per-record caching, one loader call for the misses, and de-duplication
/// against loads other callers already started.
extension StrataCache {
    /// Returns cached values for `keys`, calling `load` once with only the keys that are neither
    /// cached nor already being loaded by another caller.
    ///
    /// Each record is cached under its own key, with its own freshness, so later single or batch
    /// reads hit per record. Keys the loader leaves out of its answer are "not found" (cached for
    /// `options.negativeFor` when set) and absent from the result. A key another caller is already
    /// loading is not asked for again: this call waits for that load. Fail-safe applies per key.
    ///
    /// - Parameters:
    ///   - options: per-call options; `nil` uses the first key's namespace defaults.
    ///   - load: fetches the given keys from the source of truth in one call.
    /// - Returns: the values found, by key.
    /// - Throws: ``CacheError`` when the loader fails for a key with no stale value to serve.
    public func values<Value: Sendable>(
        for keys: [CacheKey<Value>],
        options: CacheEntryOptions? = nil,
        load: @escaping @Sendable ([CacheKey<Value>]) async throws -> [CacheKey<Value>: Value]
    ) async throws -> [CacheKey<Value>: Value] {
        try await batchValues(for: keys, options: options) { keys, _ in BatchLoadResult(values: try await load(keys)) }
    }

    /// The batch read path, for plain and adaptive batch loaders. `load` gets the keys to load and
    /// the options they would be stored with.
    func batchValues<Value: Sendable>(
        for keys: [CacheKey<Value>], options: CacheEntryOptions?,
        load loadFrom: @escaping @Sendable ([CacheKey<Value>], CacheEntryOptions) async throws -> BatchLoadResult<Value>
    ) async throws -> [CacheKey<Value>: Value] {
        guard let firstKey = keys.first else { return [:] }
        let options = try resolvedOptions(options, for: firstKey)
        let load: BatchLoader<Value> = { keys in try await loadFrom(keys, options) }
        var unique: [CacheKey<Value>] = []
        var seen = Set<String>()
        for key in keys where seen.insert(key.storageKey).inserted { unique.append(key) }

        var results: [CacheKey<Value>: Value] = [:]
        var owned: [(key: CacheKey<Value>, flightID: UInt64, fallback: ResolvedEntry?, stamp: RemovalStamp?)] = []
        var joined: [(key: CacheKey<Value>, fallback: ResolvedEntry?)] = []
        let now = clock.now
        for key in unique {
            let lookup = lookupMemory(key: key, options: options, now: now, singleLoad: singleLoader(for: key, load))
            if case .answered(let entry) = lookup {
                if let value = entry.value(as: Value.self) { results[key] = value }
                continue
            }
            let fallback: ResolvedEntry? = if case .miss(let fallback) = lookup { fallback } else { nil }
            if let flightID = flights.startWithoutWaiters(key: key.storageKey) {
                owned.append((key, flightID, fallback, removalStamp(for: key)))
            } else {
                record(.singleFlightJoined(namespace: key.namespace.name))
                joined.append((key, fallback))
            }
        }

        // Joined keys wait for their flights while this call's own flight runs, so a flight that
        // ends first is not missed (and reloaded).
        let joinedKeys = joined
        async let joinedOutcomes = withThrowingTaskGroup(of: (CacheKey<Value>, ResolvedEntry).self) { group in
            for (key, fallback) in joinedKeys {
                group.addTask { (key, try await self.joinedResolve(key: key, options: options, load: load, fallback: fallback)) }
            }
            var outcomes: [(CacheKey<Value>, ResolvedEntry)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }

        let ownedOutcomes: [String: Result<ResolvedEntry, any Error>]
        if owned.isEmpty {
            ownedOutcomes = [:]
        } else {
            let delivery = OneShot<[String: Result<ResolvedEntry, any Error>]>()
            let ownedItems = owned
            let submitted = background.submit {
                delivery.deliver(await self.runBatchFlight(ownedItems, options: options, load: load))
            }
            if !submitted { delivery.deliver(await runBatchFlight(ownedItems, options: options, load: load)) }
            ownedOutcomes = try await delivery.value()
        }

        for (key, _, _, _) in owned {
            if let entry = try ownedOutcomes[key.storageKey]?.get(), let value = entry.value(as: Value.self) { results[key] = value }
        }
        for (key, entry) in try await joinedOutcomes {
            if let value = entry.value(as: Value.self) { results[key] = value }
        }
        return results
    }

    /// A key another caller was loading when the batch looked: its result if that flight already
    /// stored it in memory, otherwise the flight's (or a new flight's) outcome.
    private func joinedResolve<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping BatchLoader<Value>, fallback: ResolvedEntry?
    ) async throws -> ResolvedEntry {
        if options.tiers.contains(.readMemory), let entry = memoryEntry(for: key), clock.now < entry.localFreshUntil {
            return entry.resolved
        }
        return try await sharedResolve(
            key: key, options: options, load: singleLoader(for: key, load), fallback: fallback, stamp: removalStamp(for: key))
    }

    enum MemoryLookup {
        case answered(ResolvedEntry)
        case miss(fallback: ResolvedEntry?)
    }

    /// The in-process part of the read path, shared by single and batch reads.
    func lookupMemory<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, now readNow: @autoclosure () -> CacheInstant,
        singleLoad: @autoclosure () -> ErasedLoader
    ) -> MemoryLookup {
        // Lazy clock and loader: without an in-process tier, or on a plain hit, neither is needed.
        guard options.tiers.contains(.readMemory), memory != nil else { return .miss(fallback: nil) }
        let now = readNow()
        let namespace = key.namespace.name
        var fallback: ResolvedEntry?
        if let entry = memoryEntry(for: key) {
            let metadata = entry.resolved.metadata
            if now < entry.localFreshUntil {
                record(.hit(.memory, namespace: namespace))
                if let reason = earlyRefreshReason(metadata, options: options, now: now) {
                    startRefresh(key: key, options: options, load: singleLoad(), reason: reason, current: entry.resolved)
                }
                return .answered(entry.resolved)
            }
            if now >= metadata.freshUntil, now < metadata.freshUntil.advanced(by: options.staleness.whileRevalidate) {
                record(.staleServed(namespace: namespace, reason: .whileRevalidate))
                startRefresh(key: key, options: options, load: singleLoad(), reason: .staleWhileRevalidate, current: entry.resolved)
                return .answered(entry.resolved)
            }
            if now < metadata.staleUntil { fallback = entry.resolved }
        }
        record(.miss(.memory, namespace: namespace))
        return .miss(fallback: fallback)
    }

    /// The batch loader asked for one key, as the single-key read path calls loaders.
    func singleLoader<Value: Sendable>(for key: CacheKey<Value>, _ load: @escaping BatchLoader<Value>) -> ErasedLoader {
        {
            let result = try await load([key])
            let value = result.values[key]
            guard let adaptation = result.adaptations[key.storageKey] else { return value }
            return AdaptedLoad(value: value, adaptation: adaptation)
        }
    }

    /// Loads the keys this call owns: one distributed-tier batch read, then one loader call for
    /// what is still missing. Completes every owned flight and returns the outcomes by storage key.
    func runBatchFlight<Value: Sendable>(
        _ owned: [(key: CacheKey<Value>, flightID: UInt64, fallback: ResolvedEntry?, stamp: RemovalStamp?)],
        options: CacheEntryOptions,
        load: @escaping BatchLoader<Value>
    ) async -> [String: Result<ResolvedEntry, any Error>] {
        var outcomes: [String: Result<ResolvedEntry, any Error>] = [:]
        var remaining: [(key: CacheKey<Value>, flightID: UInt64, candidate: ResolvedEntry?, stamp: RemovalStamp?)] = []
        if options.tiers.contains(.readDistributed), let distributed {
            let now = clock.now
            let reads = await distributed.get(owned.map(\.key.storageKey), now: now, record: record)
            for (item, read) in zip(owned, reads) {
                var candidate = item.fallback
                if case .found(let entry) = await decode(read, key: item.key) {
                    if now < entry.metadata.freshUntil {
                        record(.hit(.distributed, namespace: item.key.namespace.name))
                        storeInMemory(key: item.key, entry: entry, options: options, now: now, unlessRemovedSince: item.stamp)
                        outcomes[item.key.storageKey] = .success(entry)
                        continue
                    }
                    if candidate.map({ entry.metadata.createdAt > $0.metadata.createdAt }) ?? true { candidate = entry }
                }
                record(.miss(.distributed, namespace: item.key.namespace.name))
                remaining.append((item.key, item.flightID, candidate, item.stamp))
            }
        } else {
            remaining = owned.map { ($0.key, $0.flightID, $0.fallback, $0.stamp) }
        }

        if !remaining.isEmpty {
            let keys = remaining.map(\.key)
            // Before the load: a tag bumped while it runs must make its result stale.
            let stamps = await self.stamps(for: staticTags(keys[0], options: options))
            let (loaded, elapsed) = await loadBatchFromSource(keys: keys, options: options, load: load)
            let now = clock.now
            for item in remaining {
                switch loaded {
                case .success(let result):
                    let value = result.values[item.key]
                    let adaptation = result.adaptations[item.key.storageKey]
                    let entryOptions = adaptation?.options ?? options
                    if let adaptation {
                        do {
                            try validateAdaptation(adaptation, namespace: item.key.namespace.name)
                        } catch {
                            outcomes[item.key.storageKey] = .failure(error)
                            continue
                        }
                    }
                    var entry = makeEntry(value: value, options: entryOptions, now: now, recompute: elapsed)
                    entry.metadata.tagStamps = await addingValueTags(to: stamps, key: item.key, value: value)
                    if adaptation?.skipCaching != true, value != nil || entryOptions.negativeFor != nil {
                        storeInMemory(key: item.key, entry: entry, options: entryOptions, now: now, unlessRemovedSince: item.stamp)
                        await storeDistributed(key: item.key, entry: entry, options: entryOptions, now: now)
                    }
                    outcomes[item.key.storageKey] = .success(entry)
                case .failure(let error):
                    outcomes[item.key.storageKey] = failSafe(
                        key: item.key, options: options, candidate: item.candidate, error: error, now: now, record: true,
                        stamp: item.stamp)
                }
            }
        }
        for item in owned {
            flights.complete(key: item.key.storageKey, flightID: item.flightID, outcome: outcomes[item.key.storageKey] ?? .failure(CacheError(.loaderFailed, "no outcome")))
        }
        return outcomes
    }

    private func loadBatchFromSource<Value: Sendable>(
        keys: [CacheKey<Value>], options: CacheEntryOptions, load: @escaping BatchLoader<Value>
    ) async -> (Result<BatchLoadResult<Value>, any Error>, Duration) {
        let namespace = keys[0].namespace.name
        let started = clock.now
        let result: Result<BatchLoadResult<Value>, any Error>
        if let hard = options.timeouts.hard {
            result = await withTaskGroup(of: Result<BatchLoadResult<Value>, any Error>?.self) { group in
                group.addTask {
                    do { return .success(try await load(keys)) } catch { return .failure(error) }
                }
                group.addTask { [clock] in
                    do { try await clock.sleep(for: hard) } catch { return nil }
                    return .failure(LoaderHardTimeout())
                }
                while let next = await group.next() {
                    guard let next else { continue }
                    group.cancelAll()
                    return next
                }
                return .failure(CancellationError())
            }
        } else {
            do { result = .success(try await load(keys)) } catch { result = .failure(error) }
        }
        let elapsed = started.duration(to: clock.now)
        let outcome: CacheEvent.LoadOutcome
        switch result {
        case .success: outcome = .loaded
        case .failure(let error): outcome = error is LoaderHardTimeout ? .timedOut : .failed
        }
        record(.loadCompleted(namespace: namespace, outcome: outcome, duration: elapsed))
        return (result, elapsed)
    }
}
