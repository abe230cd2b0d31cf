import Synchronization
import Testing

@testable import Strata

@Suite struct TagInvalidationTests {
    let clock = ManualCacheClock()

    func makeCache(tier: FakeTaggedTier?, bus: (any InvalidationBus)? = nil, refresh: Duration? = nil) throws -> StrataCache {
        try StrataCache(
            configuration: .init(clock: clock, random: { 0.5 }, tagEpochRefreshInterval: refresh), distributedTier: tier,
            invalidationBus: bus)
    }

    func tagged(_ tags: [String], namespace: String = "item") throws -> (CacheNamespace<String>, CacheEntryOptions) {
        var options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil))
        options.tags = tags
        return (try CacheNamespace<String>(namespace, codec: StringCacheCodec(), defaultOptions: options), options)
    }

    @Test func theInvalidatingInstanceMissesAtOnceInBothTiers() async throws {
        let tier = FakeTaggedTier()
        let cache = try makeCache(tier: tier)
        let (namespace, _) = try tagged(["color:red"])
        let key = namespace.key("a")
        let probe = LoaderProbe()
        #expect(try await fetch(cache, key, loading: "v1", probe: probe) == "v1")
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v1")
        #expect(try await cache.invalidate(tag: "color:red") == 1)
        #expect(cache.memory?.value(forKey: key.storageKey) == nil)
        // The distributed copy is still there but recorded epoch 0: refused, not served.
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v2")
        #expect(probe.callCount == 2)
        #expect(cache.statistics().tagInvalidations >= 1)
        #expect(try await fetch(cache, key, loading: "v3", probe: probe) == "v2")
    }

    @Test func otherTagsAndUntaggedEntriesSurviveATagInvalidation() async throws {
        let cache = try makeCache(tier: FakeTaggedTier())
        let (red, _) = try tagged(["color:red"])
        let (blue, _) = try tagged(["color:blue"])
        let probe = LoaderProbe()
        _ = try await fetch(cache, red.key("a"), loading: "red", probe: probe)
        _ = try await fetch(cache, blue.key("b"), loading: "blue", probe: probe)
        try await cache.invalidate(tag: "color:red")
        #expect(try await fetch(cache, blue.key("b"), loading: "new", probe: probe) == "blue")
        #expect(try await fetch(cache, red.key("a"), loading: "new", probe: probe) == "new")
        #expect(probe.callCount == 3)
    }

    @Test func clearingANamespaceMissesItsEntriesAndLeavesOtherNamespacesAlone() async throws {
        let cache = try makeCache(tier: FakeTaggedTier())
        let (items, _) = try tagged([])
        let (users, _) = try tagged([], namespace: "user")
        let probe = LoaderProbe()
        for id in 0..<3 {
            _ = try await fetch(cache, items.key(id), loading: "item", probe: probe)
            _ = try await fetch(cache, users.key(id), loading: "user", probe: probe)
        }
        try await cache.clear(items)
        for id in 0..<3 {
            #expect(try await cache.cachedValue(for: items.key(id)) == nil)
            #expect(try await cache.cachedValue(for: users.key(id)) == "user")
        }
    }

    @Test func aNamespaceSharedByTwoCachesIsJudgedByEachCachesOwnEpochs() async throws {
        let tier = FakeTaggedTier()
        let first = try makeCache(tier: tier)
        let second = try makeCache(tier: tier)
        let options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil), tiers: .distributedOnly)
        let namespace = try CacheNamespace<String>("item", codec: StringCacheCodec(), defaultOptions: options)
        let key = namespace.key("a")
        let probe = LoaderProbe()
        #expect(try await fetch(first, key, loading: "v1", probe: probe) == "v1")
        // A distributed hit: the namespace now remembers the first cache's epoch cell.
        #expect(try await fetch(first, key, loading: "v2", probe: probe) == "v1")
        // Another instance clears the namespace; the second cache has never seen its epoch, so it
        // must fetch it (not reuse the first cache's cell, which still says 0) and refuse the entry.
        tier.bumpSilently(namespace.epochTag)
        #expect(try await fetch(second, key, loading: "v2", probe: probe) == "v2")
        #expect(probe.callCount == 2)
    }

    @Test func aColdInstanceRefusesADistributedEntryOlderThanTheTagEpoch() async throws {
        let tier = FakeTaggedTier()
        let writer = try makeCache(tier: tier)
        let (namespace, _) = try tagged(["color:red"])
        let key = namespace.key("a")
        try await writer.set("old", for: key)
        try await writer.invalidate(tag: "color:red")
        let reader = try makeCache(tier: tier)
        #expect(try await reader.cachedValue(for: key) == nil)
        #expect(reader.statistics().tagInvalidations == 1)
        #expect(tier.epochReadCount >= 1)
    }

    @Test func tagsDerivedFromTheValueAreRecordedAndInvalidate() async throws {
        let tier = FakeTaggedTier()
        let cache = try makeCache(tier: tier)
        let namespace = try CacheNamespace<String>(
            "item", codec: StringCacheCodec(), defaultOptions: CacheEntryOptions(refresh: .init(beta: nil)),
            tags: { ["value:\($0)"] })
        let key = namespace.key("a")
        try await cache.set("x", for: key)
        let envelope = try CacheEnvelope(decoding: try #require(tier.values.bytes(of: key.storageKey)))
        #expect(envelope.tagEpochs == [.init(tag: "@item", epoch: 0), .init(tag: "value:x", epoch: 0)])
        try await cache.invalidate(tag: "value:x")
        #expect(try await cache.cachedValue(for: key) == nil)
    }

    @Test func anEnvelopeWrittenWithTagEpochsRoundTripsThroughAnotherInstance() async throws {
        let tier = FakeTaggedTier()
        let writer = try makeCache(tier: tier)
        let (namespace, _) = try tagged(["a", "b"])
        let key = namespace.key("k")
        try await writer.invalidate(tag: "b")
        try await writer.invalidate(tag: "b")
        try await writer.set("v", for: key)
        let bytes = try #require(tier.values.bytes(of: key.storageKey))
        let envelope = try CacheEnvelope(decoding: bytes)
        #expect(envelope.tagEpochs == [.init(tag: "@item", epoch: 0), .init(tag: "a", epoch: 0), .init(tag: "b", epoch: 2)])
        #expect(try CacheEnvelope(decoding: envelope.encoded()) == envelope)
        let reader = try makeCache(tier: tier)
        #expect(try await reader.cachedValue(for: key) == "v")
    }

    @Test func whenTheStoreIsDownTagInvalidationThrowsAndReadsStillServe() async throws {
        let tier = FakeTaggedTier()
        let cache = try makeCache(tier: tier)
        let (namespace, _) = try tagged(["t"])
        let key = namespace.key("a")
        let probe = LoaderProbe()
        _ = try await fetch(cache, key, loading: "v1", probe: probe)
        tier.failing = true
        await #expect {
            try await cache.invalidate(tag: "t")
        } throws: { error in
            (error as? CacheError)?.code == .tagInvalidationFailed
        }
        #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v1")
        #expect(probe.callCount == 1)
    }

    @Test func reservedAndOversizedTagsAreRejected() async throws {
        let cache = try makeCache(tier: FakeTaggedTier())
        for bad in ["", "@item", String(repeating: "x", count: 300)] {
            await #expect(throws: CacheError.self) { try await cache.invalidate(tag: bad) }
        }
        var options = CacheEntryOptions()
        options.tags = ["@item"]
        #expect(throws: CacheError.self) { try options.validate() }
    }

    @Test func aCacheWithoutADistributedTierClearsANamespaceInProcess() async throws {
        let cache = try makeCache(tier: nil)
        let (namespace, _) = try tagged([])
        let probe = LoaderProbe()
        _ = try await fetch(cache, namespace.key("a"), loading: "v1", probe: probe)
        try await cache.clear(namespace)
        #expect(try await fetch(cache, namespace.key("a"), loading: "v2", probe: probe) == "v2")
    }

    @Test func aBusMessageEvictsTheOtherInstancesTaggedCopies() async throws {
        let tier = FakeTaggedTier()
        let bus = FakeBus()
        let first = try makeCache(tier: tier, bus: bus.endpoint())
        let second = try makeCache(tier: tier, bus: bus.endpoint())
        let (namespace, _) = try tagged(["t"])
        let key = namespace.key("a")
        try await withRunningCache(first) {
            try await withRunningCache(second) {
                await eventually { bus.subscriberCount == 2 }
                let probe = LoaderProbe()
                _ = try await fetch(second, key, loading: "v1", probe: probe)
                #expect(second.memory?.value(forKey: key.storageKey) != nil)
                try await first.invalidate(tag: "t")
                await eventually { second.memory?.value(forKey: key.storageKey) == nil }
                #expect(try await fetch(second, key, loading: "v2", probe: probe) == "v2")
            }
        }
    }

    @Test func aRefreshPicksUpABumpWhoseMessageWasLost() async throws {
        let tier = FakeTaggedTier()
        let cache = try makeCache(tier: tier, refresh: .seconds(1))
        let (namespace, _) = try tagged(["t"])
        let key = namespace.key("a")
        let probe = LoaderProbe()
        try await withRunningCache(cache) {
            _ = try await fetch(cache, key, loading: "v1", probe: probe)
            tier.bumpSilently("t")
            let reads = tier.epochReadCount
            await eventually { clock.sleeperCount >= 1 }
            clock.advance(by: .seconds(1))
            await eventually { tier.epochReadCount > reads && cache.tagTable.withLock { $0.epoch(of: "t") } == 1 }
            #expect(try await fetch(cache, key, loading: "v2", probe: probe) == "v2")
        }
    }

    @Test func aLoadOverlappingATagInvalidationIsNotCached() async throws {
        let cache = try makeCache(tier: FakeTaggedTier())
        let (namespace, _) = try tagged(["t"])
        let key = namespace.key("a")
        let probe = LoaderProbe()
        probe.close()
        try await withRunningCache(cache) {
            let loading = Task { try await fetch(cache, key, loading: "old", probe: probe) }
            await eventually { probe.waitingCount == 1 }
            try await cache.invalidate(tag: "t")
            probe.open()
            // The overtaken load starts over and its second result is current.
            #expect(try await loading.value == "old")
            #expect(probe.callCount == 2)
        }
    }
}
