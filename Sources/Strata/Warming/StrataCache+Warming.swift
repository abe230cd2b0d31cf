/// Filling the cache with known keys before (or while) it takes traffic.
///
/// A warm is a list of keys loaded through the ordinary read path — in-process tier, distributed
/// tier, then the loader, with single-flight, leases and entry options as for any read — by a
/// bounded number of concurrent workers. One key's failure is counted, never thrown, so a flaky
/// source cannot keep an instance from starting.
extension StrataCache {
    /// Loads every key in `keys` into the cache, at most `concurrency` at a time, and reports
    /// what happened.
    ///
    /// Each key goes through ``value(for:options:load:)-(_,_,()->Value?)``: a key already fresh in
    /// a tier is not loaded again (a distributed hit is copied into the in-process tier), so a warm
    /// from a populated Redis costs no source queries. Pass options whose `tiers` omit
    /// `.readMemory` to refill the distributed tier even for keys this instance still holds.
    ///
    /// Runs in the caller's task (workers are child tasks of a task group it awaits). On
    /// cancellation, no further keys are started and the summary counts what finished.
    ///
    /// - Parameters:
    ///   - namespace: the namespace of the keys (names the warm in logs and metrics).
    ///   - keys: the keys to load; duplicates are loaded once.
    ///   - concurrency: the most loads in flight at once (default 8).
    ///   - options: entry options for every key; `nil` uses the namespace's defaults.
    ///   - progress: called after each key, from one task at a time, with monotonically growing
    ///     `done` (and `failed`).
    ///   - load: the loader for one key; recover the record's identity from ``CacheKey/parts``.
    /// - Returns: how many keys were loaded, found missing, or failed, and how long it took.
    /// - Throws: ``CacheError`` `.invalidConfiguration` for `concurrency < 1` or incoherent options
    ///   (before anything is loaded).
    public func warm<Value: Sendable>(
        _ namespace: CacheNamespace<Value>,
        keys: [CacheKey<Value>],
        concurrency: Int = 8,
        options: CacheEntryOptions? = nil,
        progress: (@Sendable (WarmProgress) -> Void)? = nil,
        load: @escaping @Sendable (CacheKey<Value>) async throws -> Value?
    ) async throws(CacheError) -> WarmSummary {
        guard concurrency > 0 else { throw CacheError(.invalidConfiguration, "warm concurrency must be positive") }
        let options = options ?? namespace.defaultOptions
        try options.validate()
        var seen = Set<String>()
        let unique = keys.filter { seen.insert($0.storageKey).inserted }
        let started = clock.now
        var summary = WarmSummary(total: unique.count)
        await withTaskGroup(of: WarmOutcome.self) { group in
            var next = unique.makeIterator()
            var running = 0
            func startNext() -> Bool {
                guard !Task.isCancelled, let key = next.next() else { return false }
                group.addTask { await self.warmOne(key, options: options, load: load) }
                return true
            }
            while running < concurrency, startNext() { running += 1 }
            while let outcome = await group.next() {
                running -= 1
                summary.record(outcome)
                progress?(summary.progress)
                if startNext() { running += 1 }
            }
        }
        summary.duration = started.duration(to: clock.now)
        return summary
    }

    /// Loads the hottest keys `source` publishes for `namespace` (for example the hot list that
    /// `HotKeyPublisher` maintains in Redis), hottest first.
    ///
    /// Keys that do not belong to this namespace's name and version are skipped and counted in
    /// ``WarmSummary/skipped``. Otherwise the same as ``warm(_:keys:concurrency:options:progress:load:)``.
    ///
    /// - Throws: ``CacheError`` `.hotKeySourceFailed` when the list cannot be read (nothing is
    ///   loaded); `.invalidConfiguration` as for the key-list variant.
    public func warm<Value: Sendable>(
        _ namespace: CacheNamespace<Value>,
        from source: any HotKeySource,
        limit: Int = 1_000,
        concurrency: Int = 8,
        options: CacheEntryOptions? = nil,
        progress: (@Sendable (WarmProgress) -> Void)? = nil,
        load: @escaping @Sendable (CacheKey<Value>) async throws -> Value?
    ) async throws(CacheError) -> WarmSummary {
        let published: [String]
        do {
            published = try await source.hotKeys(namespace: namespace.name, limit: limit)
        } catch {
            throw CacheError(.hotKeySourceFailed, "the hot-key list could not be read", underlying: error)
        }
        let keys = published.compactMap { namespace.key(storageKey: $0) }
        var summary = try await warm(namespace, keys: keys, concurrency: concurrency, options: options, progress: progress, load: load)
        summary.skipped = published.count - keys.count
        return summary
    }

    private func warmOne<Value: Sendable>(
        _ key: CacheKey<Value>, options: CacheEntryOptions, load: @escaping @Sendable (CacheKey<Value>) async throws -> Value?
    ) async -> WarmOutcome {
        do {
            let resolved = try await resolve(key: key, options: options, load: { try await load(key) })
            return resolved.value(as: Value.self) == nil ? .notFound : .loaded
        } catch {
            return .failed
        }
    }
}

enum WarmOutcome: Sendable {
    case loaded, notFound, failed
}

/// Where a warm finds the keys worth loading: a shared, ranked list of the hottest keys per
/// namespace (StrataRedis's `RedisHotKeyStore` reads the sorted sets `HotKeyPublisher` writes).
public protocol HotKeySource: Sendable {
    /// The storage keys (``CacheKey/storageKey``) of `namespace`'s hottest keys, hottest first,
    /// at most `limit`.
    ///
    /// - Throws: when the list cannot be read; a missing list is an empty one, not an error.
    func hotKeys(namespace: String, limit: Int) async throws -> [String]
}

/// How far a warm has got.
public struct WarmProgress: Sendable, Hashable, CustomStringConvertible {
    /// Keys finished (loaded, not found, or failed).
    public var done: Int
    /// Keys to warm.
    public var total: Int
    /// Keys whose load failed (included in `done`).
    public var failed: Int

    /// Creates a progress report.
    public init(done: Int, total: Int, failed: Int) {
        self.done = done
        self.total = total
        self.failed = failed
    }

    public var description: String { "\(done)/\(total) keys warmed, \(failed) failed" }
}

/// What a warm did.
public struct WarmSummary: Sendable, Hashable, CustomStringConvertible {
    /// Distinct keys the warm was asked to load.
    public var total: Int
    /// Keys now cached with a value (loaded, or already cached in a tier).
    public var loaded = 0
    /// Keys the loader reported missing (cached as "not found" only with `negativeFor`).
    public var notFound = 0
    /// Keys whose load failed or timed out; the warm went on without them.
    public var failed = 0
    /// Published keys that did not belong to the namespace's name and version.
    public var skipped = 0
    /// Wall time of the warm, on the cache's clock.
    public var duration: Duration = .zero

    /// Creates a summary with nothing done yet.
    public init(total: Int) { self.total = total }

    /// Keys finished so far.
    public var done: Int { loaded + notFound + failed }

    /// The summary as progress.
    public var progress: WarmProgress { WarmProgress(done: done, total: total, failed: failed) }

    mutating func record(_ outcome: WarmOutcome) {
        switch outcome {
        case .loaded: loaded += 1
        case .notFound: notFound += 1
        case .failed: failed += 1
        }
    }

    public var description: String {
        "warmed \(done)/\(total) keys in \(duration): \(loaded) cached, \(notFound) not found, \(failed) failed, \(skipped) skipped"
    }
}
