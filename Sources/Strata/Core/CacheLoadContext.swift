import Synchronization

/// What a loader may decide about the entry it is loading, once it has seen the value: adaptive
/// options.
///
/// ```swift
/// let page = try await cache.value(for: pages.key(slug)) { context in
///     let page = try await cms.page(slug)
///     if page?.isDraft == true { context.options.expiration.freshFor = .seconds(5) }
///     if page?.isPersonalised == true { context.skipCaching = true }
///     return page
/// }
/// ```
///
/// The context starts with the options of the call that leads the load (the call's `options`, or
/// the namespace's defaults). What the loader changes applies to the entry it returns, in both
/// tiers: `expiration` (fresh duration, the in-process `memoryFreshFor`, jitter), `staleness`
/// (how long the entry is kept for stale serving), `negativeFor` (a `nil` answer is cached for that
/// long; set it and return `nil` to cache a "not found") and the write bits of `tiers`. Settings
/// that only matter before the load (timeouts, early refresh, leases, the read bits of `tiers`)
/// have no effect. Options are never stored with an entry, so the next load starts from the
/// call's options again.
///
/// Validation: when the loader returns, the adapted options are checked like any options
/// (``CacheEntryOptions/validate()``). Incoherent options fail the load with ``CacheError``
/// `.invalidConfiguration`: nothing is stored and every caller waiting for this load gets the
/// error (no stale value is served in its place, since it is a programming error, not an outage).
///
/// Concurrency: one context per load; it is safe to change from any task the loader starts, but
/// changes made after the loader returned are ignored. Calls made with ``CacheEntryOptions/Tiers/bypass``
/// never store anything, so their context is ignored.
public final class CacheLoadContext: Sendable {
    private struct State {
        var options: CacheEntryOptions
        var skipCaching = false
    }

    private let state: Mutex<State>

    init(options: CacheEntryOptions) {
        state = Mutex(State(options: options))
    }

    /// The options the loaded entry is stored with; starts as the call's options.
    public var options: CacheEntryOptions {
        get { state.withLock { $0.options } }
        set { state.withLock { $0.options = newValue } }
    }

    /// When `true`, the value is returned to every caller waiting for this load but stored in no
    /// tier (for example a personalised or partial answer). Default `false`.
    ///
    /// With leases (``CacheEntryOptions/Coherence/leases``), other instances waiting for this
    /// fill keep waiting until their `maximumLeaseWait` and then load themselves.
    public var skipCaching: Bool {
        get { state.withLock { $0.skipCaching } }
        set { state.withLock { $0.skipCaching = newValue } }
    }

    /// What the loader decided, read once after it returned.
    var adaptation: LoadAdaptation {
        state.withLock { LoadAdaptation(options: $0.options, skipCaching: $0.skipCaching) }
    }
}

/// The loader's decisions about the entry it loaded.
struct LoadAdaptation: Sendable {
    var options: CacheEntryOptions
    var skipCaching: Bool
}

extension StrataCache {
    /// Checks the options a loader adapted; incoherent ones are logged (a programming error) and
    /// thrown, and the entry must not be stored.
    func validateAdaptation(_ adaptation: LoadAdaptation, namespace: String) throws(CacheError) {
        do {
            try adaptation.options.validate()
        } catch {
            configuration.logger.error(
                "a loader adapted an entry's options incoherently; the entry was not stored",
                metadata: ["namespace": "\(namespace)", "reason": "\(error)"])
            throw error
        }
    }
}

/// What an adaptive loader returns through the type-erased loader: the value and the loader's
/// decisions. Unwrapped by the cache before anything else sees the value.
struct AdaptedLoad: Sendable {
    var value: (any Sendable)?
    var adaptation: LoadAdaptation

    /// Splits a loader's result into the value and, for an adaptive loader, its decisions.
    static func unwrap(_ result: (any Sendable)?) -> (value: (any Sendable)?, adaptation: LoadAdaptation?) {
        guard let adapted = result as? AdaptedLoad else { return (result, nil) }
        return (adapted.value, adapted.adaptation)
    }
}

extension StrataCache {
    /// Returns the cached value for `key`, loading it with `load` when no usable value is cached;
    /// the loader can adapt how its value is cached through a ``CacheLoadContext``.
    ///
    /// Everything else is as in ``value(for:options:load:)-(_,_,()->Value?)``: concurrent calls
    /// share one load (the leading call's loader and options), stale values are served per
    /// `options.staleness`, and background refreshes call the same loader with a fresh context.
    ///
    /// - Parameters:
    ///   - options: per-call options; `nil` uses the namespace's defaults. They are the context's
    ///     starting point.
    ///   - load: fetches the value; may change `context.options` / `context.skipCaching` before it
    ///     returns. Returns `nil` for "not found" (cached for the adapted `negativeFor` when set).
    /// - Returns: the value, or `nil` when the source has none.
    /// - Throws: ``CacheError`` as the plain overload does, and `.invalidConfiguration` when the
    ///   loader left incoherent options in its context (nothing is stored then).
    public func value<Value: Sendable>(
        for key: CacheKey<Value>,
        options: CacheEntryOptions? = nil,
        load: @escaping @Sendable (CacheLoadContext) async throws -> Value?
    ) async throws -> Value? {
        let options = try resolvedOptions(options, for: key)
        let resolved = try await resolve(key: key, options: options, load: {
            let context = CacheLoadContext(options: options)
            let value = try await load(context)
            return AdaptedLoad(value: value, adaptation: context.adaptation)
        })
        return resolved.value(as: Value.self)
    }
}
