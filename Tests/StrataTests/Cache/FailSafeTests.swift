import Testing

@testable import Strata

@Suite struct FailSafeTests {
    let clock = ManualCacheClock()

    func makeCache(tier: FakeDistributedTier? = nil) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: clock, random: { 0.5 }), distributedTier: tier)
    }

    func failSafeOptions(soft: Duration? = nil, hard: Duration? = nil) -> CacheEntryOptions {
        CacheEntryOptions(
            freshFor: .seconds(10),
            staleness: .init(ifError: .seconds(600), failSafeThrottle: .seconds(30)),
            refresh: .init(beta: nil),
            timeouts: .init(soft: soft, hard: hard))
    }

    @Test func aFailingLoaderServesTheStaleValueAndIsNotRetriedWithinTheThrottle() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(failSafeOptions()).key("fs")
        let failures = Counter()
        let failing: @Sendable () async throws -> String = {
            failures.increment()
            throw LoaderFailure()
        }
        _ = try await cache.value(for: key) { "good" }
        clock.advance(by: .seconds(11))
        let first = try await cache.value(for: key, load: failing)
        #expect(first == "good")
        clock.advance(by: .seconds(29))
        let second = try await cache.value(for: key, load: failing)
        #expect(second == "good")
        #expect(failures.value == 1)
        clock.advance(by: .seconds(2))
        _ = try await cache.value(for: key, load: failing)
        #expect(failures.value == 2)
        #expect(cache.statistics().staleServed == 2)
    }

    @Test func pastTheFailSafeWindowTheLoaderErrorReachesTheCaller() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(failSafeOptions()).key("fs")
        _ = try await cache.value(for: key) { "good" }
        clock.advance(by: .seconds(611))
        await #expect(throws: CacheError.self) {
            try await cache.value(for: key) { () async throws -> String in throw LoaderFailure() }
        }
    }

    @Test func withoutFailSafeALoaderErrorIsACacheErrorWithTheUnderlyingError() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(10))).key("plain")
        do {
            _ = try await cache.value(for: key) { () async throws -> String in throw LoaderFailure() }
            Issue.record("expected an error")
        } catch let error as CacheError {
            #expect(error.code == .loaderFailed)
            #expect(error.underlying is LoaderFailure)
            #expect(!error.description.contains("plain"))
        }
    }

    @Test func theSoftTimeoutReturnsStaleWhileTheLoadFinishesInTheBackgroundAndIsStored() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(failSafeOptions(soft: .milliseconds(100), hard: .seconds(5))).key("soft")
        let probe = LoaderProbe()
        try await withRunningCache(cache) {
            _ = try await fetch(cache, key, loading: "v1", probe: probe)
            clock.advance(by: .seconds(11))
            probe.close()
            let slow = Task { try await fetch(cache, key, loading: "v2", probe: probe) }
            await eventually { probe.waitingCount == 1 && clock.sleeperCount == 2 }
            clock.advance(by: .milliseconds(100))
            let served = try await slow.value
            #expect(served == "v1")
            probe.open()
            await eventually { (cache.memory?.value(forKey: key.storageKey)?.resolved.value as? String) == "v2" }
        }
        #expect(probe.callCount == 2)
        #expect(cache.statistics().staleServed == 1)
    }

    @Test func theHardTimeoutFailsTheCallWhenNothingStaleExists() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(failSafeOptions(hard: .seconds(1))).key("hard")
        let probe = LoaderProbe()
        probe.close()
        try await withRunningCache(cache) {
            let call = Task { try await fetch(cache, key, loading: "late", probe: probe) }
            await eventually { probe.waitingCount == 1 && clock.sleeperCount == 1 }
            clock.advance(by: .seconds(1))
            let outcome = await call.result
            #expect(throws: CacheError.self) { try outcome.get() }
            probe.open()
        }
    }

    @Test func theHardTimeoutServesStaleWhenFailSafeAllows() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(failSafeOptions(hard: .seconds(1))).key("hard-stale")
        let probe = LoaderProbe()
        try await withRunningCache(cache) {
            _ = try await fetch(cache, key, loading: "v1", probe: probe)
            clock.advance(by: .seconds(11))
            probe.close()
            let call = Task { try await fetch(cache, key, loading: "v2", probe: probe) }
            await eventually { probe.waitingCount == 1 && clock.sleeperCount == 1 }
            clock.advance(by: .seconds(1))
            let served = try await call.value
            #expect(served == "v1")
            probe.open()
        }
    }

    @Test func aDownDistributedTierNeverFailsTheCaller() async throws {
        let tier = FakeDistributedTier()
        tier.failing = true
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(10))).key("down")
        let probe = LoaderProbe()
        let loaded = try await fetch(cache, key, loading: "from-source", probe: probe)
        #expect(loaded == "from-source")
        let cached = try await fetch(cache, key, loading: "again", probe: probe)
        #expect(cached == "from-source")
        #expect(probe.callCount == 1)
        #expect(cache.statistics().distributedFailures >= 2)
        #expect(try await cache.set("written", for: key) == false)
        #expect(await cache.remove(key) == false)
    }

    @Test func whileTheDistributedTierIsDownALogicallyFreshMemoryCopyIsStillTrusted() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        var options = CacheEntryOptions(freshFor: .seconds(300), refresh: .init(beta: nil))
        options.expiration.memoryFreshFor = .seconds(10)
        let key = try makeNamespace(options).key("trusted")
        let probe = LoaderProbe()
        _ = try await fetch(cache, key, loading: "v1", probe: probe)
        tier.failing = true
        clock.advance(by: .seconds(20))
        let value = try await fetch(cache, key, loading: "v2", probe: probe)
        #expect(value == "v1")
        #expect(probe.callCount == 1)
    }
}
