/// Calling the loader: timeouts, fail-safe, negative caching, and storing what it returned.
extension StrataCache {
    private enum LoaderEvent: Sendable {
        case finished(Result<(any Sendable)?, any Error>)
        case softTimeout
        case hardTimeout
        case timerCancelled
    }

    func loadFromSource<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping ErasedLoader, candidate: ResolvedEntry?,
        fill: FillMode = .plain, stamp: RemovalStamp?, publish: @escaping @Sendable (Result<ResolvedEntry, any Error>) -> Void
    ) async -> Result<ResolvedEntry, any Error> {
        let namespace = key.namespace.name
        // Stamped before the loader reads the source, so a tag bumped while it runs makes its
        // result stale rather than blessing it with the new epoch.
        let stamps = await self.stamps(for: staticTags(key, options: options))
        let started = clock.now
        let outcome = await runLoader(
            load: load, timeouts: options.timeouts, canServeStale: candidate != nil,
            onSoftTimeout: {
                guard let candidate else { return }
                self.record(.staleServed(namespace: namespace, reason: .softTimeout))
                publish(.success(candidate))
            },
            onHardTimeout: {
                // Bound every waiter's wait even if the loader ignores cancellation.
                publish(self.failSafe(
                    key: key, options: options, candidate: candidate, error: LoaderHardTimeout(), now: self.clock.now, record: false, stamp: stamp))
            }
        )
        let finished = clock.now
        let elapsed = started.duration(to: finished)
        switch outcome {
        case .success(let loaded):
            let (value, adaptation) = AdaptedLoad.unwrap(loaded)
            var options = options
            var fill = fill
            if let adaptation {
                do {
                    try validateAdaptation(adaptation, namespace: namespace)
                } catch {
                    record(.loadCompleted(namespace: namespace, outcome: .failed, duration: elapsed))
                    return .failure(error)
                }
                options = adaptation.options
                if adaptation.skipCaching { fill = .none }
            }
            record(.loadCompleted(namespace: namespace, outcome: value == nil ? .notFound : .loaded, duration: elapsed))
            guard value != nil || options.negativeFor != nil else {
                return .success(ResolvedEntry(value: nil, metadata: EntryMetadata(
                    createdAt: finished, freshUntil: finished, staleUntil: finished, recompute: elapsed)))
            }
            var entry = makeEntry(value: value, options: options, now: finished, recompute: elapsed)
            if let value = value as? Value { entry.metadata.dataVersion = key.namespace.dataVersion?(value) }
            entry.metadata.tagStamps = await addingValueTags(to: stamps, key: key, value: value)
            if !tagsCurrent(entry.metadata.tagStamps) {
                // A tag was invalidated while loading: callers that joined after it must not get
                // this value; everyone waiting starts over, like after a refused fill.
                record(.tagInvalidated(namespace: namespace))
                return .failure(FlightOvertaken(entry: entry))
            }
            guard fill != .none else {
                // Loaded without a lease after waiting for someone else's fill: correct to return,
                // not safe to cache (an invalidation may already have overtaken it).
                return .success(entry)
            }
            let token: String? = if case .lease(let token) = fill { token } else { nil }
            let conditional = token != nil || (coherentTier != nil && entry.metadata.dataVersion != nil)
            guard conditional else {
                storeInMemory(key: key, entry: entry, options: options, now: finished, unlessRemovedSince: stamp)
                // Waiters need not wait for the distributed write (up to its deadline when Redis is slow).
                publish(.success(entry))
                await storeDistributed(key: key, entry: entry, options: options, now: finished)
                return .success(entry)
            }
            // A conditional fill decides whether the value is still current: nobody gets it first.
            if case .refused = await storeDistributed(key: key, entry: entry, options: options, now: finished, leaseToken: token) {
                // An invalidation overtook this load; a caller that joined after the write must not
                // get it. Everyone waiting starts over (rare: only when a write races the load).
                return .failure(FlightOvertaken(entry: entry))
            }
            storeInMemory(key: key, entry: entry, options: options, now: finished, unlessRemovedSince: stamp)
            return .success(entry)
        case .failure(let error):
            let timedOut = error is LoaderHardTimeout
            record(.loadCompleted(namespace: namespace, outcome: timedOut ? .timedOut : .failed, duration: elapsed))
            return failSafe(key: key, options: options, candidate: candidate, error: error, now: finished, record: true, stamp: stamp)
        }
    }

    /// The answer after a failed load: the stale candidate when fail-safe allows it (re-cached
    /// briefly so the failing source is not hit on every request), otherwise a ``CacheError``.
    func failSafe<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, candidate: ResolvedEntry?, error: any Error,
        now: CacheInstant, record shouldRecord: Bool, stamp: RemovalStamp?
    ) -> Result<ResolvedEntry, any Error> {
        let timedOut = error is LoaderHardTimeout
        if let candidate, options.staleness.ifError > .zero,
            now < candidate.metadata.freshUntil.advanced(by: options.staleness.ifError)
        {
            if shouldRecord {
                record(.staleServed(namespace: key.namespace.name, reason: timedOut ? .loaderTimedOut : .loaderFailed))
                configuration.logger.warning(
                    "loader failed; serving a stale value (fail-safe)",
                    metadata: ["namespace": "\(key.namespace.name)", "reason": "\(timedOut ? "timeout" : "error")"])
                storeInMemory(
                    key: key, entry: candidate, options: options, now: now,
                    localFreshUntil: now.advanced(by: options.staleness.failSafeThrottle), unlessRemovedSince: stamp)
            }
            return .success(candidate)
        }
        if timedOut {
            return .failure(CacheError(.loaderTimedOut, "the loader exceeded its hard timeout and no stale value may be served"))
        }
        if let cacheError = error as? CacheError, cacheError.code == .cancelled { return .failure(cacheError) }
        return .failure(CacheError(.loaderFailed, "the loader failed and no stale value may be served", underlying: error))
    }

    /// Runs the loader under the soft and hard timeouts.
    private func runLoader(
        load: @escaping ErasedLoader, timeouts: CacheEntryOptions.LoaderTimeouts, canServeStale: Bool,
        onSoftTimeout: @escaping @Sendable () -> Void, onHardTimeout: @escaping @Sendable () -> Void
    ) async -> Result<(any Sendable)?, any Error> {
        let soft = canServeStale ? timeouts.soft : nil
        guard soft != nil || timeouts.hard != nil else {
            do { return .success(try await load()) } catch { return .failure(error) }
        }
        return await withTaskGroup(of: LoaderEvent.self) { group in
            group.addTask {
                do { return .finished(.success(try await load())) } catch { return .finished(.failure(error)) }
            }
            if let soft {
                group.addTask { [clock] in
                    do { try await clock.sleep(for: soft) } catch { return .timerCancelled }
                    return .softTimeout
                }
            }
            if let hard = timeouts.hard {
                group.addTask { [clock] in
                    do { try await clock.sleep(for: hard) } catch { return .timerCancelled }
                    return .hardTimeout
                }
            }
            while let event = await group.next() {
                switch event {
                case .finished(let result):
                    group.cancelAll()
                    return result
                case .softTimeout:
                    onSoftTimeout()
                case .hardTimeout:
                    onHardTimeout()
                    group.cancelAll()
                    return .failure(LoaderHardTimeout())
                case .timerCancelled:
                    continue
                }
            }
            return .failure(CancellationError())
        }
    }

    func makeEntry(value: (any Sendable)?, options: CacheEntryOptions, now: CacheInstant, recompute: Duration) -> ResolvedEntry {
        var freshFor = value == nil ? (options.negativeFor ?? .zero) : options.expiration.freshFor
        if value != nil, options.expiration.jitter > .zero {
            freshFor += options.expiration.jitter * configuration.random()
        }
        let freshUntil = now.advanced(by: freshFor)
        let staleUntil = value == nil ? freshUntil : freshUntil.advanced(by: options.staleHorizon)
        return ResolvedEntry(
            value: value,
            metadata: EntryMetadata(createdAt: now, freshUntil: freshUntil, staleUntil: staleUntil, recompute: recompute))
    }

    /// Puts an entry in the in-process tier, trusted until `localFreshUntil` (by default the
    /// entry's freshness capped by `memoryFreshFor`).
    ///
    /// - Parameter stamp: taken before the entry was fetched from the distributed tier or the
    ///   source; when the key was invalidated since, the entry may predate that write and is not
    ///   stored (the caller still gets it: its read began before the invalidation). `nil` for this
    ///   instance's own writes.
    func storeInMemory<Value: Sendable>(
        key: CacheKey<Value>, entry: ResolvedEntry, options: CacheEntryOptions, now: CacheInstant,
        localFreshUntil: CacheInstant? = nil, unlessRemovedSince stamp: RemovalStamp?
    ) {
        guard options.tiers.contains(.writeMemory), let memory else { return }
        let trustedUntil = localFreshUntil
            ?? min(entry.metadata.freshUntil, now.advanced(by: options.expiration.memoryFreshFor ?? options.expiration.freshFor))
        _ = memory.store(
            MemoryEntry(resolved: entry, localFreshUntil: trustedUntil), forKey: key.storageKey,
            expiresAt: max(entry.metadata.staleUntil, trustedUntil), unlessRemovedSince: stamp)
    }

    /// A removal stamp for `key` when there is an in-process tier.
    func removalStamp<Value: Sendable>(for key: CacheKey<Value>) -> RemovalStamp? {
        memory?.removalStamp(forKey: key.storageKey)
    }
}
