/// The read path: in-process tier, then one shared flight per key that consults the distributed
/// tier and, if needed, the loader.
extension StrataCache {
    /// Resolves `key` through the in-process tier, the distributed tier and the loader.
    ///
    /// `load` is an autoclosure so that a hit never allocates the type-erased loader. The hit path
    /// (this, the distributed read, its decoding and the tier guard) is `nonisolated(nonsending)`:
    /// every level of plain nonisolated async calls costs an executor switch, together about a tenth
    /// of a distributed-tier hit's own CPU.
    nonisolated(nonsending) func resolve<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @autoclosure () -> ErasedLoader
    ) async throws -> ResolvedEntry {
        if options.tiers == .bypass {
            // Strong consistency: no tier, no sharing of another caller's (possibly older) load.
            let value = try await loadBypassing(key: key, load: load())
            return ResolvedEntry(value: value, metadata: EntryMetadata(
                createdAt: clock.now, freshUntil: clock.now, staleUntil: clock.now, recompute: .zero))
        }
        switch lookupMemory(key: key, options: options, now: clock.now, singleLoad: load()) {
        case .answered(let entry):
            return entry
        case .miss(let fallback):
            // A fresh distributed hit needs no coordination: read it in the caller's task (one
            // pipelined GET) and only start or join a flight when there is something to load.
            var prefetched: DistributedRead?
            // Taken before anything is fetched: an invalidation that lands during the fetch keeps
            // its result out of the in-process tier.
            let stamp = removalStamp(for: key)
            if options.tiers.contains(.readDistributed), distributed != nil {
                let read = await readDistributed(key: key)
                let now = clock.now
                if case .found(let entry) = read, now < entry.metadata.freshUntil,
                    earlyRefreshReason(entry.metadata, options: options, now: now) == nil
                {
                    record(.hit(.distributed, namespace: key.namespace.name))
                    storeInMemory(key: key, entry: entry, options: options, now: now, unlessRemovedSince: stamp)
                    return entry
                }
                prefetched = read
            }
            return try await sharedResolve(key: key, options: options, load: load(), fallback: fallback, prefetched: prefetched, stamp: stamp)
        }
    }

    func loadBypassing<Value: Sendable>(key: CacheKey<Value>, load: ErasedLoader) async throws -> (any Sendable)? {
        let started = clock.now
        do {
            let value = AdaptedLoad.unwrap(try await load()).value
            record(.loadCompleted(namespace: key.namespace.name, outcome: value == nil ? .notFound : .loaded, duration: started.duration(to: clock.now)))
            return value
        } catch {
            record(.loadCompleted(namespace: key.namespace.name, outcome: .failed, duration: started.duration(to: clock.now)))
            throw CacheError(.loaderFailed, "the loader failed (tiers bypassed)", underlying: error)
        }
    }

    /// Joins (or starts) the flight for `key` and returns its outcome.
    func sharedResolve<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping ErasedLoader, fallback: ResolvedEntry?,
        prefetched: DistributedRead? = nil, stamp: RemovalStamp?
    ) async throws -> ResolvedEntry {
        var prefetched = prefetched
        var stamp = stamp
        var overtaken = 0
        while true {
            do {
                return try await flights.join(
                    key: key.storageKey,
                    start: { flightID in
                        let read = prefetched
                        let readStamp = stamp
                        let submitted = background.submit {
                            await self.runFlight(
                                key: key, options: options, load: load, fallback: fallback, flightID: flightID, refreshing: false,
                                prefetched: read, stamp: readStamp)
                        }
                        if !submitted {
                            flights.complete(key: key.storageKey, flightID: flightID, outcome: .failure(InlineLoadRequired()))
                        }
                    },
                    joined: { record(.singleFlightJoined(namespace: key.namespace.name)) }
                )
            } catch let error as FlightOvertaken {
                prefetched = nil
                stamp = removalStamp(for: key)
                // Bounded: under a storm of writes, the last load's value is still a correct answer
                // for a caller that has been waiting through them.
                overtaken += 1
                if overtaken >= 3 { return error.entry }
                continue
            } catch is InlineLoadRequired {
                defer { prefetched = nil }
                // No run() to host the load: this caller leads it in its own task, unless another
                // caller already took the lead in the meantime, in which case it joins that flight.
                guard let flightID = flights.startWithoutWaiters(key: key.storageKey) else { continue }
                let outcome = await runFlight(
                    key: key, options: options, load: load, fallback: fallback, flightID: flightID, refreshing: false,
                    prefetched: prefetched, stamp: stamp)
                if case .failure(let error as FlightOvertaken) = outcome {
                    prefetched = nil
                    stamp = removalStamp(for: key)
                    overtaken += 1
                    if overtaken >= 3 { return error.entry }
                    continue
                }
                return try outcome.get()
            }
        }
    }

    /// Starts a background refresh of `key` unless a load for it is already running.
    func startRefresh<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping ErasedLoader,
        reason: CacheEvent.RefreshReason, current: ResolvedEntry
    ) {
        guard let flightID = flights.startWithoutWaiters(key: key.storageKey) else { return }
        let stamp = removalStamp(for: key)
        let submitted = background.submit {
            await self.runFlight(
                key: key, options: options, load: load, fallback: current, flightID: flightID, refreshing: true, stamp: stamp)
        }
        if submitted {
            record(.refreshStarted(namespace: key.namespace.name, reason: reason))
        } else {
            flights.complete(key: key.storageKey, flightID: flightID, outcome: .success(current))
        }
    }

    func earlyRefreshReason(_ metadata: EntryMetadata, options: CacheEntryOptions, now: CacheInstant) -> CacheEvent.RefreshReason? {
        guard now < metadata.freshUntil else { return nil }
        if let fraction = options.refresh.refreshAheadFraction,
            EarlyRefreshDecision.refreshAhead(now: now, createdAt: metadata.createdAt, freshUntil: metadata.freshUntil, fraction: fraction)
        {
            return .refreshAhead
        }
        // No measured load time (a written value), no XFetch: skip drawing a random number on the hit path.
        if let beta = options.refresh.beta, metadata.recompute > .zero,
            EarlyRefreshDecision.xfetch(
                now: now, freshUntil: metadata.freshUntil, recompute: metadata.recompute, beta: beta,
                uniform: 1 - configuration.random())
        {
            return .xfetch
        }
        return nil
    }

    /// Runs one flight to completion and hands its outcome to every waiter.
    @discardableResult
    func runFlight<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping ErasedLoader,
        fallback: ResolvedEntry?, flightID: UInt64, refreshing: Bool, prefetched: DistributedRead? = nil, stamp: RemovalStamp?
    ) async -> Result<ResolvedEntry, any Error> {
        let storageKey = key.storageKey
        let publish: @Sendable (Result<ResolvedEntry, any Error>) -> Void = { [flights] outcome in
            flights.publishEarly(key: storageKey, flightID: flightID, outcome: outcome)
        }
        let outcome = await flightBody(
            key: key, options: options, load: load, fallback: fallback, refreshing: refreshing, prefetched: prefetched,
            stamp: stamp, publish: publish)
        flights.complete(key: storageKey, flightID: flightID, outcome: outcome)
        return outcome
    }

    /// Distributed tier first, then the loader. `refreshing` means an early refresh of a value this
    /// process already holds: a distributed copy only counts if it is newer than ours.
    func flightBody<Value: Sendable>(
        key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping ErasedLoader, fallback: ResolvedEntry?,
        refreshing: Bool, prefetched: DistributedRead? = nil, stamp: RemovalStamp?,
        publish: @escaping @Sendable (Result<ResolvedEntry, any Error>) -> Void
    ) async -> Result<ResolvedEntry, any Error> {
        let namespace = key.namespace.name
        var candidate = fallback
        var distributedAnswered = false
        var publishedEarly = false
        if options.tiers.contains(.readDistributed), distributed != nil {
            let now = clock.now
            let read: DistributedRead
            if let prefetched { read = prefetched } else { read = await readDistributed(key: key) }
            if case .unavailable = read {} else { distributedAnswered = true }
            switch read {
            case .found(let entry):
                let metadata = entry.metadata
                let newerThanOurs = fallback.map { metadata.createdAt > $0.metadata.createdAt } ?? true
                if now < metadata.freshUntil, !refreshing || newerThanOurs {
                    record(.hit(.distributed, namespace: namespace))
                    storeInMemory(key: key, entry: entry, options: options, now: now, unlessRemovedSince: stamp)
                    guard !refreshing, let reason = earlyRefreshReason(metadata, options: options, now: now) else {
                        return .success(entry)
                    }
                    // Waiters take the fresh copy now; this flight goes on to refresh it early.
                    record(.refreshStarted(namespace: namespace, reason: reason))
                    publish(.success(entry))
                    publishedEarly = true
                    candidate = entry
                } else {
                    record(.miss(.distributed, namespace: namespace))
                    if !refreshing, now >= metadata.freshUntil,
                        now < metadata.freshUntil.advanced(by: options.staleness.whileRevalidate)
                    {
                        record(.staleServed(namespace: namespace, reason: .whileRevalidate))
                        record(.refreshStarted(namespace: namespace, reason: .staleWhileRevalidate))
                        publish(.success(entry))
                        publishedEarly = true
                    }
                    if candidate.map({ metadata.createdAt > $0.metadata.createdAt }) ?? true { candidate = entry }
                }
            case .notFound:
                record(.miss(.distributed, namespace: namespace))
            case .unavailable:
                // The in-process copy is still logically fresh: keep trusting it rather than sending
                // every request to the source while the distributed tier is down.
                if !refreshing, let fallback, now < fallback.metadata.freshUntil {
                    storeInMemory(key: key, entry: fallback, options: options, now: now, unlessRemovedSince: stamp)
                    return .success(fallback)
                }
            }
        }
        var fill = FillMode.plain
        if options.coherence.leases, distributedAnswered {
            switch await leaseDecision(
                key: key, options: options, candidate: candidate, refreshing: refreshing || publishedEarly, stamp: stamp)
            {
            case .answered(let entry): return .success(entry)
            case .load(let mode): fill = mode
            }
        }
        return await loadFromSource(key: key, options: options, load: load, candidate: candidate, fill: fill, stamp: stamp, publish: publish)
    }
}
