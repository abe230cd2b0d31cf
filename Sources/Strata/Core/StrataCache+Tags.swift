/// Invalidation by tag and clearing a namespace with shared epochs (see "Tags and clearing a
/// namespace" in the Coherence article).
///
/// Every entry records the epochs of its tags — always including its namespace's own tag — when
/// it is filled. Reads compare them with this instance's ``TagEpochTable``; bumping a tag makes
/// every entry that recorded a lower epoch a miss, in every tier, without finding the entries.
extension StrataCache {
    /// Invalidates every entry tagged `tag`, in every instance and both tiers.
    ///
    /// Advances the tag's epoch in the shared store (Redis `INCR`), updates this instance's table
    /// at once (its next read of such an entry misses), evicts its in-process entries with the tag
    /// and announces the new epoch on the invalidation bus. Other instances stop serving the
    /// entries when the announcement arrives or at their next epoch refresh, whichever is first.
    ///
    /// - Returns: the tag's new epoch.
    /// - Throws: ``CacheError`` `.tagInvalidationFailed` when the store could not be reached (or
    ///   the breaker is open): the tag was NOT invalidated. `.invalidConfiguration` for a tag that
    ///   breaks the rules of ``CacheEntryOptions/tags``, or when the distributed tier keeps no tag
    ///   epochs. A failed announcement does not throw (others learn at their next refresh).
    @discardableResult
    public func invalidate(tag: String) async throws(CacheError) -> Int64 {
        try CacheTagRules.validate(tag)
        return try await advanceEpoch(of: tag)
    }

    /// Makes every entry of `namespace` a miss, in every instance and both tiers, leaving other
    /// namespaces alone: a bump of the namespace's own tag, with the guarantees and failure
    /// behaviour of ``invalidate(tag:)``. Nothing is deleted; entries expire on their own.
    ///
    /// - Returns: the namespace's new epoch.
    @discardableResult
    public func clear<Value>(_ namespace: CacheNamespace<Value>) async throws(CacheError) -> Int64 {
        try await advanceEpoch(of: namespace.epochTag)
    }

    func advanceEpoch(of tag: String) async throws(CacheError) -> Int64 {
        guard let tagStore else {
            throw CacheError(.invalidConfiguration, "the distributed tier keeps no tag epochs (it is not a TagEpochStore)")
        }
        let floor = tagTable.withLock { $0.epoch(of: tag) } ?? 0
        let advanced: Int64?
        if let distributed {
            advanced = await distributed.call(.set, now: clock.now, record: record) {
                try await tagStore.advanceEpoch(of: tag, above: floor)
            }
        } else {
            advanced = try? await tagStore.advanceEpoch(of: tag, above: floor)
        }
        guard let epoch = advanced else {
            configuration.logger.warning("a tag epoch could not be advanced; the tag was not invalidated")
            throw CacheError(.tagInvalidationFailed, "the tag epoch store could not be reached; nothing was invalidated")
        }
        record(.tagEpochAdvanced)
        observeEpoch(epoch, of: tag, onlyIfKnown: false)
        await publish([.tagEpoch(tag: tag, epoch: epoch)], keys: 0)
        return epoch
    }

    /// Raises the known epoch of `tag` and evicts in-process entries it made stale.
    func observeEpoch(_ epoch: Int64, of tag: String, onlyIfKnown: Bool) {
        let observed = tagTable.withLock { table -> (cell: TagEpochCell, raised: Bool)? in
            if onlyIfKnown { return table.observeIfKnown(tag, epoch: epoch) }
            return table.observe(tag, epoch: epoch)
        }
        guard let observed, observed.raised, let memory else { return }
        // Reads would refuse these entries anyway; evicting frees their memory now. A bump is
        // rare (a write of the source), so one pass over the tier is affordable.
        memory.removeAll { _, entry in
            entry.resolved.metadata.tagStamps.contains { $0.cell === observed.cell && $0.epoch < epoch }
        }
    }

    // MARK: Stamping entries

    /// The tags an entry of `key` carries before its value is known: its namespace's, then the options'.
    func staticTags<Value>(_ key: CacheKey<Value>, options: CacheEntryOptions) -> [String] {
        options.tags.isEmpty ? [key.namespace.epochTag] : [key.namespace.epochTag] + options.tags
    }

    /// Current epochs of `tags`; unknown tags are fetched first (one round trip on first use).
    /// If that fails their stamps say 0, which only makes the entry a miss sooner.
    func stamps(for tags: [String]) async -> [TagStamp] {
        guard tagStore != nil, !tags.isEmpty else { return [] }
        let (stamps, unresolved) = tagTable.withLock { $0.stamps(for: tags) }
        guard !unresolved.isEmpty, let fetched = await fetchEpochs(unresolved) else { return stamps }
        return tagTable.withLock { table in
            for (tag, epoch) in zip(unresolved, fetched) { table.observe(tag, epoch: epoch) }
            return table.stamps(for: tags).stamps
        }
    }

    /// Adds the stamps of the tags the namespace derives from `value`.
    func addingValueTags<Value>(to stamps: [TagStamp], key: CacheKey<Value>, value: (any Sendable)?) async -> [TagStamp] {
        guard tagStore != nil, let derive = key.namespace.tags, let value = value as? Value else { return stamps }
        var extra: [String] = []
        for tag in derive(value) where !stamps.contains(where: { $0.tag == tag }) && !extra.contains(tag) {
            guard (try? CacheTagRules.validate(tag)) != nil, stamps.count + extra.count < CacheTagRules.maximumTagsPerEntry + 1 else {
                configuration.logger.warning(
                    "a tag derived from a value was dropped: too long, reserved, or too many tags",
                    metadata: ["namespace": "\(key.namespace.name)"])
                continue
            }
            extra.append(tag)
        }
        guard !extra.isEmpty else { return stamps }
        let added = await self.stamps(for: extra)
        return stamps + added
    }

    /// Stamps for a value written now (``set(_:for:options:)``, ``write(_:for:version:options:)``).
    func currentStamps<Value>(_ key: CacheKey<Value>, options: CacheEntryOptions, value: Value) async -> [TagStamp] {
        await addingValueTags(to: await stamps(for: staticTags(key, options: options)), key: key, value: value)
    }

    // MARK: Judging entries

    /// Whether no tag of an in-process entry moved on. Costs one atomic load per stamp, no lock;
    /// unresolved tags count as current here (they were stamped while the store was unreachable
    /// and are resolved by the next refresh).
    func tagsCurrent(_ stamps: [TagStamp]) -> Bool {
        stamps.isEmpty || TagEpochTable.verdict(stamps) != .stale
    }

    /// Judges an entry read from the distributed tier, fetching tags this instance never saw.
    nonisolated(nonsending) func judge(_ stamps: [TagStamp]) async -> TagEpochTable.Verdict {
        guard !stamps.isEmpty else { return .current }
        let verdict = TagEpochTable.verdict(stamps)
        guard verdict == .unresolved else { return verdict }
        let tags = TagEpochTable.unresolvedTags(in: stamps)
        guard let fetched = await fetchEpochs(tags) else { return .unresolved }
        tagTable.withLock { table in
            for (tag, epoch) in zip(tags, fetched) { table.observe(tag, epoch: epoch) }
        }
        return TagEpochTable.verdict(stamps)
    }

    /// The in-process entry for `key`, unless a tag invalidated it (then it is removed and counted).
    func memoryEntry<Value>(for key: CacheKey<Value>) -> MemoryEntry? {
        guard let entry = memoryValue(for: key) else { return nil }
        if tagsCurrent(entry.resolved.metadata.tagStamps) { return entry }
        memory?.removeValue(forKey: key.storageKey)
        record(.tagInvalidated(namespace: key.namespace.name))
        return nil
    }

    // MARK: Keeping the table current

    /// Reads epochs from the store; `nil` when it failed (counted by the tier guard).
    func fetchEpochs(_ tags: [String]) async -> [Int64]? {
        guard let tagStore else { return nil }
        let fetched: [Int64]?
        if let distributed {
            fetched = await distributed.call(.get, now: clock.now, record: record) { try await tagStore.epochs(of: tags) }
        } else {
            fetched = try? await tagStore.epochs(of: tags)
        }
        guard let fetched, fetched.count == tags.count else { return nil }
        return fetched
    }

    /// Asks ``runTagEpochRefresh()`` to refetch every known epoch now (after a bus gap or reconnect).
    func requestTagEpochRefresh() {
        tagRefreshRequests.continuation.yield()
    }

    /// Refetches every known epoch when asked, until cancelled.
    func runTagEpochRefresh() async {
        for await _ in tagRefreshRequests.stream {
            await refreshTagEpochs()
        }
    }

    /// Asks for a refresh every `interval`, until cancelled.
    func runTagEpochTimer(every interval: Duration) async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: interval) } catch { return }
            requestTagEpochRefresh()
        }
    }

    /// Refetches every known epoch, in batches (the store splits them by cluster slot).
    func refreshTagEpochs() async {
        let tags = tagTable.withLock { $0.allTags }
        var start = 0
        while start < tags.count {
            let batch = Array(tags[start..<min(start + 512, tags.count)])
            guard let epochs = await fetchEpochs(batch) else {
                record(.tagEpochRefreshFailed)
                return
            }
            tagTable.withLock { table in
                for (tag, epoch) in zip(batch, epochs) { table.observe(tag, epoch: epoch) }
            }
            start += batch.count
        }
    }
}
