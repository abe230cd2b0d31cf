import Synchronization
import Testing

@testable import Strata

/// A loader adapting its entry's options from the value it loaded (`CacheLoadContext`).
@Suite struct AdaptiveOptionsTests {
    let clock = ManualCacheClock()
    let options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil))

    func makeCache(tier: FakeDistributedTier? = nil) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: clock, random: { 0.5 }), distributedTier: tier)
    }

    /// Get-or-load with an adaptive loader that counts its calls and applies `adapt`.
    func fetch(
        _ cache: StrataCache, _ key: CacheKey<String>, loading value: String?, loads: Counter,
        adapt: @escaping @Sendable (CacheLoadContext) -> Void = { _ in }
    ) async throws -> String? {
        try await cache.value(for: key) { context in
            loads.increment()
            adapt(context)
            return value
        }
    }

    @Test func aShorterFreshDurationSetByTheLoaderExpiresTheEntrySooner() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("draft")
        let loads = Counter()
        let adapt: @Sendable (CacheLoadContext) -> Void = { $0.options.expiration.freshFor = .seconds(5) }
        #expect(try await fetch(cache, key, loading: "v1", loads: loads, adapt: adapt) == "v1")
        clock.advance(by: .seconds(4))
        #expect(try await fetch(cache, key, loading: "v2", loads: loads, adapt: adapt) == "v1")
        clock.advance(by: .seconds(1))
        #expect(try await fetch(cache, key, loading: "v2", loads: loads, adapt: adapt) == "v2")
        #expect(loads.value == 2)
    }

    @Test func theContextStartsFromTheCallsOptions() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("a")
        var call = options
        call.expiration.freshFor = .seconds(42)
        let seen = LockedValue<Duration?>(nil)
        _ = try await cache.value(for: key, options: call) { context in
            seen.set(context.options.expiration.freshFor)
            return "v"
        }
        #expect(seen.get() == .seconds(42))
    }

    @Test func adaptedDurationsReachTheDistributedTier() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(options).key("a")
        _ = try await fetch(cache, key, loading: "v", loads: Counter()) { context in
            context.options.expiration.freshFor = .seconds(10)
            context.options.staleness.ifError = .seconds(20)
        }
        // The physical TTL covers the adapted fresh and stale windows, not the call's 60 s.
        #expect(tier.timeToLive(of: key.storageKey) == .seconds(30))
        let envelope = try CacheEnvelope(decoding: try #require(tier.bytes(of: key.storageKey)))
        #expect(envelope.createdAt.duration(to: envelope.freshUntil) == .seconds(10))
    }

    @Test func anAdaptedMemoryFreshDurationMakesTheInProcessCopyRevalidateSooner() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(options).key("a")
        let loads = Counter()
        let adapt: @Sendable (CacheLoadContext) -> Void = { $0.options.expiration.memoryFreshFor = .seconds(1) }
        _ = try await fetch(cache, key, loading: "v1", loads: loads, adapt: adapt)
        let getsAfterLoad = tier.getCount
        clock.advance(by: .seconds(2))
        // The in-process copy is no longer trusted; the distributed tier still holds a fresh one.
        #expect(try await fetch(cache, key, loading: "v2", loads: loads, adapt: adapt) == "v1")
        #expect(tier.getCount == getsAfterLoad + 1)
        #expect(loads.value == 1)
    }

    @Test func skipCachingReturnsTheValueButStoresItInNoTier() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(options).key("personal")
        let loads = Counter()
        let adapt: @Sendable (CacheLoadContext) -> Void = { $0.skipCaching = true }
        #expect(try await fetch(cache, key, loading: "v1", loads: loads, adapt: adapt) == "v1")
        #expect(try await fetch(cache, key, loading: "v2", loads: loads, adapt: adapt) == "v2")
        #expect(loads.value == 2)
        #expect(tier.setCount == 0)
        #expect(cache.statistics().memoryEntries == 0)
    }

    @Test func aNotFoundAnswerIsCachedForTheNegativeDurationTheLoaderSets() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("missing")
        let loads = Counter()
        let adapt: @Sendable (CacheLoadContext) -> Void = { $0.options.negativeFor = .seconds(10) }
        #expect(try await fetch(cache, key, loading: nil, loads: loads, adapt: adapt) == nil)
        clock.advance(by: .seconds(9))
        #expect(try await fetch(cache, key, loading: "found", loads: loads, adapt: adapt) == nil)
        clock.advance(by: .seconds(1))
        #expect(try await fetch(cache, key, loading: "found", loads: loads, adapt: adapt) == "found")
        #expect(loads.value == 2)
    }

    @Test func withoutANegativeDurationANotFoundAnswerIsNotCached() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("missing")
        let loads = Counter()
        #expect(try await fetch(cache, key, loading: nil, loads: loads) == nil)
        #expect(try await fetch(cache, key, loading: "found", loads: loads) == "found")
        #expect(loads.value == 2)
    }

    @Test func incoherentAdaptedOptionsFailTheLoadAndStoreNothing() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(options).key("a")
        let loads = Counter()
        let error = await #expect(throws: CacheError.self) {
            _ = try await fetch(cache, key, loading: "v", loads: loads) { $0.options.expiration.freshFor = .zero }
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(tier.setCount == 0)
        // The next call loads again with coherent options and caches normally.
        #expect(try await fetch(cache, key, loading: "v2", loads: loads) == "v2")
        #expect(try await fetch(cache, key, loading: "v3", loads: loads) == "v2")
        #expect(loads.value == 2)
    }

    @Test func eachLoadStartsFromTheCallsOptionsAgain() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("a")
        let loads = Counter()
        _ = try await fetch(cache, key, loading: "v1", loads: loads) { $0.options.expiration.freshFor = .seconds(1) }
        clock.advance(by: .seconds(1))
        // No adaptation this time: the call's 60 s apply.
        _ = try await fetch(cache, key, loading: "v2", loads: loads)
        clock.advance(by: .seconds(59))
        #expect(try await fetch(cache, key, loading: "v3", loads: loads) == "v2")
        #expect(loads.value == 2)
    }

    @Test func aBypassingCallIgnoresTheContext() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(options).key("a")
        var bypass = options
        bypass.tiers = .bypass
        let value = try await cache.value(for: key, options: bypass) { context in
            context.options.expiration.freshFor = .zero
            return "direct"
        }
        #expect(value == "direct")
        #expect(tier.setCount == 0)
    }
}

/// A value tests can set from a `@Sendable` closure and read afterwards.
final class LockedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    func get() -> Value { storage.withLock { $0 } }
    func set(_ value: Value) { storage.withLock { $0 = value } }
}
