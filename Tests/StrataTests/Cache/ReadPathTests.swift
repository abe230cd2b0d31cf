import Synchronization
import Testing

@testable import Strata

@Suite struct ReadPathTests {
    let clock = ManualCacheClock()

    func makeCache(tier: FakeDistributedTier? = nil, random: @escaping @Sendable () -> Double = { 0.5 }) throws -> StrataCache {
        try StrataCache(configuration: .init(clock: clock, random: random), distributedTier: tier)
    }

    @Test func aFreshValueIsServedWithoutCallingTheLoaderAgain() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil))).key("a")
        let probe = LoaderProbe()
        #expect(try await fetch(cache, key, loading: "v1", probe: probe) == "v1")
        clock.advance(by: .seconds(59))
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v1")
        #expect(probe.callCount == 1)
        clock.advance(by: .seconds(1))
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v2")
        #expect(probe.callCount == 2)
    }

    @Test func aThousandConcurrentCallersOnAnExpiredHotKeyCauseExactlyOneLoad() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(10), refresh: .init(beta: nil))).key("hot")
        let loads = Counter()
        try await withRunningCache(cache) {
            _ = try await cache.value(for: key) { "warm" }
            clock.advance(by: .seconds(11))
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<1000 {
                    group.addTask {
                        try await cache.value(for: key) {
                            loads.increment()
                            try await Task.sleep(for: .milliseconds(50))
                            return "reloaded"
                        }
                    }
                }
                for try await value in group { #expect(value == "reloaded") }
            }
        }
        #expect(loads.value == 1)
        #expect(cache.statistics().singleFlightJoins >= 1)
    }

    @Test func cancellingOneWaiterDoesNotCancelTheSharedLoad() async throws {
        let cache = try makeCache()
        let key = try makeNamespace().key("shared")
        let probe = LoaderProbe()
        probe.close()
        try await withRunningCache(cache) {
            let first = Task { try await fetch(cache, key, loading: "loaded", probe: probe) }
            await eventually { probe.waitingCount == 1 }
            let second = Task { try await fetch(cache, key, loading: "other", probe: probe) }
            await eventually { cache.statistics().singleFlightJoins == 1 }
            first.cancel()
            let firstOutcome = await first.result
            #expect((try? firstOutcome.get()) == nil)
            probe.open()
            let secondValue = try await second.value
            #expect(secondValue == "loaded")
        }
        #expect(probe.callCount == 1)
    }

    @Test func withoutRunTheFirstCallerLoadsInItsOwnTask() async throws {
        let cache = try makeCache()
        let key = try makeNamespace().key("inline")
        let value = try await cache.value(for: key) { "inline" }
        #expect(value == "inline")
        #expect(try await cache.cachedValue(for: key) == "inline")
    }

    @Test func aStaleValueInsideTheRevalidateWindowIsServedWhileOneRefreshRuns() async throws {
        let cache = try makeCache()
        let options = CacheEntryOptions(
            freshFor: .seconds(10), staleness: .init(whileRevalidate: .seconds(30)), refresh: .init(beta: nil))
        let key = try makeNamespace(options).key("swr")
        let probe = LoaderProbe()
        try await withRunningCache(cache) {
            _ = try await fetch(cache, key, loading: "v1", probe: probe)
            clock.advance(by: .seconds(15))
            probe.close()
            let staleA = try await fetch(cache, key, loading: "v2", probe: probe)
            let staleB = try await fetch(cache, key, loading: "v2", probe: probe)
            #expect(staleA == "v1")
            #expect(staleB == "v1")
            probe.open()
            await eventually { (cache.memory?.value(forKey: key.storageKey)?.resolved.value as? String) == "v2" }
        }
        #expect(probe.callCount == 2)
        #expect(cache.statistics().staleServed == 2)
    }

    @Test func aNotFoundAnswerIsCachedForTheNegativeDurationOnly() async throws {
        let cache = try makeCache()
        let key = try makeNamespace(CacheEntryOptions(freshFor: .seconds(60), negativeFor: .seconds(5))).key("missing")
        let calls = Counter()
        let loader: @Sendable () async throws -> String? = {
            calls.increment()
            return nil
        }
        #expect(try await cache.value(for: key, load: loader) == nil)
        #expect(try await cache.value(for: key, load: loader) == nil)
        #expect(calls.value == 1)
        clock.advance(by: .seconds(5))
        #expect(try await cache.value(for: key, load: loader) == nil)
        #expect(calls.value == 2)
    }

    @Test func withoutNegativeCachingEveryNotFoundCallsTheLoader() async throws {
        let cache = try makeCache()
        let key = try makeNamespace().key("missing")
        let calls = Counter()
        let loader: @Sendable () async throws -> String? = {
            calls.increment()
            return nil
        }
        _ = try await cache.value(for: key, load: loader)
        _ = try await cache.value(for: key, load: loader)
        #expect(calls.value == 2)
    }

    @Test func theInProcessCopyRevalidatesAgainstTheDistributedTierAfterItsOwnDuration() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        var options = CacheEntryOptions(freshFor: .seconds(300), refresh: .init(beta: nil))
        options.expiration.memoryFreshFor = .seconds(30)
        let key = try makeNamespace(options).key("tiered")
        let probe = LoaderProbe()
        _ = try await fetch(cache, key, loading: "v1", probe: probe)
        #expect(tier.timeToLive(of: key.storageKey) == .seconds(300))
        clock.advance(by: .seconds(31))
        let getsBefore = tier.getCount
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v1")
        #expect(tier.getCount == getsBefore + 1)
        #expect(probe.callCount == 1)
        #expect(cache.statistics().distributedHits == 1)
    }

    @Test func physicalTimeToLiveCoversTheStaleWindows() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let options = CacheEntryOptions(
            freshFor: .seconds(60), staleness: .init(whileRevalidate: .seconds(10), ifError: .seconds(600)))
        let key = try makeNamespace(options).key("ttl")
        _ = try await cache.value(for: key) { "v" }
        #expect(tier.timeToLive(of: key.storageKey) == .seconds(660))
    }

    @Test func anotherInstanceReadsWhatTheFirstLoadedFromTheDistributedTier() async throws {
        let tier = FakeDistributedTier()
        let first = try makeCache(tier: tier)
        let second = try makeCache(tier: tier)
        let key = try makeNamespace().key("shared")
        _ = try await first.value(for: key) { "from-first" }
        let value = try await second.value(for: key) { "from-second" }
        #expect(value == "from-first")
        #expect(second.statistics().distributedHits == 1)
    }

    @Test func undecodableDistributedBytesAreAMissAndAMetric() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace().key("garbage")
        tier.store([0xFF, 0x00, 0x13], for: key.storageKey)
        let value = try await cache.value(for: key) { "loaded" }
        #expect(value == "loaded")
        #expect(cache.statistics().decodeFailures == 1)
    }

    @Test func bypassGoesToTheLoaderEveryTimeAndCachesNothing() async throws {
        let tier = FakeDistributedTier()
        let cache = try makeCache(tier: tier)
        let key = try makeNamespace().key("stock")
        let probe = LoaderProbe()
        _ = try await fetch(cache, key, loading: "cached", probe: probe)
        let bypass = CacheEntryOptions(tiers: .bypass)
        let first = try await cache.value(for: key, options: bypass) { try await probe.load("live 1") }
        let second = try await cache.value(for: key, options: bypass) { try await probe.load("live 2") }
        #expect(first == "live 1" && second == "live 2")
        #expect(probe.callCount == 3)
        #expect(try await cache.cachedValue(for: key) == "cached")
    }

    @Test func invalidPerCallOptionsAreRejectedBeforeAnyWork() async throws {
        let cache = try makeCache()
        let key = try makeNamespace().key("x")
        var options = CacheEntryOptions()
        options.timeouts = .init(soft: .seconds(2), hard: .seconds(1))
        await #expect(throws: CacheError.self) { try await cache.value(for: key, options: options) { "never" } }
    }
}

@Suite struct LifecycleTests {
    @Test(.timeLimit(.minutes(1))) func aShutdownBeforeRunStartsMakesRunReturnAtOnce() async throws {
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()))
        cache.background.stop()
        try await cache.run()
        let key = try makeNamespace().key("after")
        let value = try await cache.value(for: key) { "inline" }
        #expect(value == "inline")
    }
}
