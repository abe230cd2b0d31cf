import NIOCore
import Redis
import RedisServerHarness
import StrataRedis
import Testing

@testable import Strata

/// Tag invalidation and namespace clearing across two instances (each its own client, cache and
/// bus) over a real Redis. Waits use generous deadlines; nothing asserts on timing.
@Suite(.serialized) struct TagInvalidationLiveTests {
    static func namespace(_ name: String = "item", tags: [String] = []) throws -> CacheNamespace<String> {
        var options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil))
        options.tags = tags
        return try CacheNamespace<String>(name, codec: StringCacheCodec(), defaultOptions: options)
    }

    static func knownEpoch(of tag: String, in cache: StrataCache) -> Int64? {
        cache.tagTable.withLock { $0.epoch(of: tag) }
    }

    /// Waits (up to 10 s) until `condition` holds.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
    }

    @Test(.timeLimit(.minutes(1))) func aTagInvalidationMissesAtOnceHereAndReachesTheOtherInstanceOverTheBus() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await InvalidationBusLiveTests().withInstances(on: server) { first, second, client in
                let namespace = try Self.namespace(tags: ["color:red"])
                let key = namespace.key("a")
                // A write, not a load: a load hands its value to callers before its Redis write lands.
                try await first.cache.set("v1", for: key)
                #expect(try await second.cache.value(for: key) { "loaded by second" } == "v1")
                #expect(second.cache.statistics().tagInvalidations == 0)
                #expect(try await second.cache.cachedValue(for: key) == "v1")
                #expect(try await first.cache.invalidate(tag: "color:red") == 1)
                #expect(try await first.cache.cachedValue(for: key) == nil)
                // The epoch lives in its own slot: one key per tag, hash tag around the whole key.
                #expect(try await client.rawValue(["GET", "{strata:tag:color:red}"]) == .bulkString(ByteBuffer(string: "1")))
                // The bus raises the second instance's epoch and evicts its in-process copy.
                try await Self.waitUntil { Self.knownEpoch(of: "color:red", in: second.cache) == 1 }
                #expect(second.cache.memory?.value(forKey: key.storageKey) == nil)
                #expect(try await second.cache.cachedValue(for: key) == nil)
                #expect(try await second.cache.value(for: key) { "v2" } == "v2")
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aColdInstanceRefusesARedisEntryOlderThanTheTagEpoch() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await InvalidationBusLiveTests().withInstances(on: server) { first, second, _ in
                let namespace = try Self.namespace(tags: ["shelf:9"])
                let key = namespace.key("b")
                try await first.cache.set("old", for: key)
                try await first.cache.invalidate(tag: "shelf:9")
                // The second instance never used the tag, so the bus message did not teach it the
                // epoch: the read fetches it and refuses the entry.
                #expect(try await second.cache.cachedValue(for: key) == nil)
                #expect(second.cache.statistics().tagInvalidations == 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func clearingANamespaceMissesEveryEntryOfItAndLeavesOthersAlone() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await InvalidationBusLiveTests().withInstances(on: server) { first, second, _ in
                let items = try Self.namespace()
                let users = try Self.namespace("user")
                for id in 0..<5 {
                    try await first.cache.set("item \(id)", for: items.key(id))
                    try await first.cache.set("user \(id)", for: users.key(id))
                    _ = try await second.cache.cachedValue(for: items.key(id))
                }
                try await first.cache.clear(items)
                for id in 0..<5 {
                    #expect(try await first.cache.cachedValue(for: items.key(id)) == nil)
                    #expect(try await first.cache.cachedValue(for: users.key(id)) == "user \(id)")
                }
                try await Self.waitUntil { Self.knownEpoch(of: "@item", in: second.cache) == 1 }
                for id in 0..<5 {
                    #expect(try await second.cache.cachedValue(for: items.key(id)) == nil)
                    #expect(try await second.cache.cachedValue(for: users.key(id)) == "user \(id)")
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func withRedisDownATagInvalidationThrowsAndReadsStillServe() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server, timeout: .milliseconds(200)) { tier, _ in
                let cache = try StrataCache(distributedTier: tier)
                let key = try Self.namespace(tags: ["t"]).key("c")
                _ = try await cache.value(for: key) { "v1" }
                await server.kill()
                await #expect {
                    try await cache.invalidate(tag: "t")
                } throws: { error in
                    (error as? CacheError)?.code == .tagInvalidationFailed
                }
                #expect(try await cache.value(for: key) { "v2" } == "v1")
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aRaisedWatermarkKeepsTheValueAndRefusesOlderFills() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server) { tier, client in
                let cache = try StrataCache(distributedTier: tier)
                let key = try Self.namespace().key("d")
                #expect(try await cache.write("v5", for: key, version: 5) == .stored)
                #expect(await cache.raiseVersionWatermark(key, to: 7))
                #expect(try await client.rawValue(["EXISTS", key.storageKey]) == .integer(1))
                // The entry expires before the queued version 7 reaches the source…
                _ = try await client.rawValue(["DEL", key.storageKey, key.storageKey + ":ver"])
                // …so a loader reading version 6 from the source must not cache it.
                #expect(try await cache.write("v6", for: key, version: 6) == .olderThanInvalidated)
                #expect(try await cache.write("v7", for: key, version: 7) == .stored)
            }
        }
    }
}
