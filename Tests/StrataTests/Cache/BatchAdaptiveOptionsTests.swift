import Synchronization
import Testing

@testable import Strata

/// A batch loader adapting each record's options from the values it loaded (`CacheBatchLoadContext`).
@Suite struct BatchAdaptiveOptionsTests {
    let clock = ManualCacheClock()
    let options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil))

    func makeCache(tier: FakeDistributedTier? = nil) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: clock, random: { 0.5 }), distributedTier: tier)
    }

    /// The keys each loader call was asked for.
    final class Requests: Sendable {
        private let storage = Mutex<[[String]]>([])
        var all: [[String]] { storage.withLock { $0 } }
        func record(_ keys: [CacheKey<String>]) { storage.withLock { $0.append(keys.map(\.storageKey).sorted()) } }
    }

    /// A batch get-or-load that answers every asked key present in `source` and applies `adapt`.
    func fetch(
        _ cache: StrataCache, _ keys: [CacheKey<String>], source: [String: String], requests: Requests,
        adapt: @escaping @Sendable ([CacheKey<String>], CacheBatchLoadContext<String>) -> Void = { _, _ in }
    ) async throws -> [CacheKey<String>: String] {
        try await cache.values(for: keys) { asked, context in
            requests.record(asked)
            adapt(asked, context)
            var found: [CacheKey<String>: String] = [:]
            for key in asked { found[key] = source[key.storageKey] }
            return found
        }
    }

    @Test func eachRecordExpiresAfterItsOwnAdaptedFreshDuration() async throws {
        let cache = try makeCache(tier: FakeDistributedTier())
        let namespace = try makeNamespace(options)
        let (draft, published) = (namespace.key("draft"), namespace.key("published"))
        let source = [draft.storageKey: "d", published.storageKey: "p"]
        let requests = Requests()
        let adapt: @Sendable ([CacheKey<String>], CacheBatchLoadContext<String>) -> Void = { asked, context in
            for key in asked where key == draft { context.adaptOptions(for: key) { $0.expiration.freshFor = .seconds(5) } }
        }
        let first = try await fetch(cache, [draft, published], source: source, requests: requests, adapt: adapt)
        #expect(first == [draft: "d", published: "p"])
        clock.advance(by: .seconds(6))
        _ = try await fetch(cache, [draft, published], source: source, requests: requests, adapt: adapt)
        // Only the draft expired, in both tiers.
        #expect(requests.all == [[draft.storageKey, published.storageKey].sorted(), [draft.storageKey]])
    }

    @Test func aSkippedRecordIsReturnedButNotStored() async throws {
        let cache = try makeCache(tier: FakeDistributedTier())
        let namespace = try makeNamespace(options)
        let (personal, shared) = (namespace.key("personal"), namespace.key("shared"))
        let source = [personal.storageKey: "mine", shared.storageKey: "ours"]
        let requests = Requests()
        let adapt: @Sendable ([CacheKey<String>], CacheBatchLoadContext<String>) -> Void = { asked, context in
            if asked.contains(personal) { context.skipCaching(personal) }
        }
        #expect(try await fetch(cache, [personal, shared], source: source, requests: requests, adapt: adapt) == [personal: "mine", shared: "ours"])
        #expect(try await fetch(cache, [personal, shared], source: source, requests: requests, adapt: adapt) == [personal: "mine", shared: "ours"])
        #expect(requests.all.last == [personal.storageKey])
        #expect(try await cache.cachedValue(for: personal) == nil)
    }

    @Test func anAdaptedNegativeDurationCachesAMissingRecord() async throws {
        let cache = try makeCache()
        let namespace = try makeNamespace(options)
        let (present, missing) = (namespace.key("present"), namespace.key("missing"))
        let requests = Requests()
        let adapt: @Sendable ([CacheKey<String>], CacheBatchLoadContext<String>) -> Void = { asked, context in
            if asked.contains(missing) { context.adaptOptions(for: missing) { $0.negativeFor = .seconds(30) } }
        }
        let source = [present.storageKey: "here"]
        #expect(try await fetch(cache, [present, missing], source: source, requests: requests, adapt: adapt) == [present: "here"])
        #expect(try await fetch(cache, [present, missing], source: source, requests: requests, adapt: adapt) == [present: "here"])
        #expect(requests.all.count == 1)
    }

    @Test func incoherentOptionsForOneRecordFailTheCallAndStoreOnlyTheOthers() async throws {
        let cache = try makeCache()
        let namespace = try makeNamespace(options)
        let (bad, good) = (namespace.key("bad"), namespace.key("good"))
        let source = [bad.storageKey: "b", good.storageKey: "g"]
        let requests = Requests()
        let adapt: @Sendable ([CacheKey<String>], CacheBatchLoadContext<String>) -> Void = { asked, context in
            if asked.contains(bad) { context.adaptOptions(for: bad) { $0.expiration.freshFor = .seconds(-1) } }
        }
        await #expect(throws: CacheError.self) {
            _ = try await fetch(cache, [bad, good], source: source, requests: requests, adapt: adapt)
        }
        #expect(try await cache.cachedValue(for: good) == "g")
        #expect(try await cache.cachedValue(for: bad) == nil)
    }

    @Test func theContextStartsFromTheCallsOptions() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(options).key("a")
        let seen = Mutex<Duration?>(nil)
        var callOptions = options
        callOptions.expiration.freshFor = .seconds(7)
        _ = try await cache.values(for: [key], options: callOptions) { asked, context in
            seen.withLock { $0 = context.options(for: key).expiration.freshFor }
            return [key: "v"]
        }
        #expect(seen.withLock { $0 } == .seconds(7))
    }
}
