import Synchronization

/// What a batch loader may decide about each entry it loads, once it has seen the values:
/// adaptive options per record.
///
/// ```swift
/// let found = try await cache.values(for: keys) { keys, context in
///     let rows = try await database.products(ids: keys)   // [CacheKey<Product>: Product]
///     for (key, row) in rows where row.isOnSale {
///         context.adaptOptions(for: key) { $0.expiration.freshFor = .seconds(30) }
///     }
///     return rows
/// }
/// ```
///
/// Every key starts with the options of the batch call (or its namespace's defaults). What the
/// loader changes for a key applies to that key's entry only, in both tiers, with the same
/// rules as ``CacheLoadContext``: storage settings take effect, settings that only matter before
/// a load do not, and the options are never stored with the entry. Keys the loader leaves alone
/// are stored with the call's options.
///
/// Validation: when the loader returns, each key's adapted options are checked. A key with
/// incoherent options fails with ``CacheError`` `.invalidConfiguration` (nothing is stored for
/// it, and the batch call throws, as it does for any failed key without a stale value); the other
/// keys are stored as usual.
///
/// Concurrency: one context per loader call, safe to change from any task the loader starts;
/// changes made after the loader returned are ignored.
public final class CacheBatchLoadContext<Value: Sendable>: Sendable {
    private let base: CacheEntryOptions
    private let adapted = Mutex<[String: LoadAdaptation]>([:])

    init(options: CacheEntryOptions) {
        base = options
    }

    /// The options `key`'s entry will be stored with: the call's, unless adapted.
    public func options(for key: CacheKey<Value>) -> CacheEntryOptions {
        adapted.withLock { $0[key.storageKey]?.options } ?? base
    }

    /// Changes the options `key`'s entry is stored with.
    public func adaptOptions(for key: CacheKey<Value>, _ change: (inout CacheEntryOptions) -> Void) {
        update(key) { change(&$0.options) }
    }

    /// Returns `key`'s value to the callers waiting for it but stores it in no tier (for example
    /// a personalised or partial record).
    public func skipCaching(_ key: CacheKey<Value>) {
        update(key) { $0.skipCaching = true }
    }

    private func update(_ key: CacheKey<Value>, _ change: (inout LoadAdaptation) -> Void) {
        adapted.withLock { adapted in
            change(&adapted[key.storageKey, default: LoadAdaptation(options: base, skipCaching: false)])
        }
    }

    /// What the loader decided, by storage key; read once after it returned.
    var adaptations: [String: LoadAdaptation] { adapted.withLock { $0 } }
}

/// A batch loader's answer as the cache handles it: the values and, from an adaptive loader, its
/// decisions per key (by storage key).
struct BatchLoadResult<Value: Sendable>: Sendable {
    var values: [CacheKey<Value>: Value]
    var adaptations: [String: LoadAdaptation] = [:]
}

/// A batch loader inside the cache: the keys to load in, the values and decisions out.
typealias BatchLoader<Value: Sendable> = @Sendable ([CacheKey<Value>]) async throws -> BatchLoadResult<Value>

extension StrataCache {
    /// Returns cached values for `keys`, calling `load` once with only the keys that are neither
    /// cached nor already being loaded by another caller; the loader can adapt how each record
    /// is cached through a ``CacheBatchLoadContext``.
    ///
    /// Everything else is as in the plain `values(for:options:load:)`.
    /// A key another caller joins (or a later single read that calls this loader for one key)
    /// gets the same per-key decisions.
    ///
    /// - Throws: ``CacheError`` as the plain overload does, and `.invalidConfiguration` when the
    ///   loader left incoherent options for a key (nothing is stored for that key).
    public func values<Value: Sendable>(
        for keys: [CacheKey<Value>],
        options: CacheEntryOptions? = nil,
        load: @escaping @Sendable ([CacheKey<Value>], CacheBatchLoadContext<Value>) async throws -> [CacheKey<Value>: Value]
    ) async throws -> [CacheKey<Value>: Value] {
        try await batchValues(for: keys, options: options) { keys, options in
            let context = CacheBatchLoadContext<Value>(options: options)
            let values = try await load(keys, context)
            return BatchLoadResult(values: values, adaptations: context.adaptations)
        }
    }
}
