import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Synchronization
import Testing

/// The whole cache over a real Redis, with the faults production meets: Redis killed, blocked,
/// restarted. With fail-safe on, no caller sees an error and no call waits longer than the
/// tier's deadline plus the loader.
@Suite(.serialized) struct CacheOverRedisFaultTests {
    struct Item: Codable, Sendable, Equatable {
        var id: Int
        var name: String
    }

    static func options() -> CacheEntryOptions {
        CacheEntryOptions(
            freshFor: .seconds(60), staleness: .init(whileRevalidate: .seconds(5), ifError: .seconds(600)),
            refresh: .init(beta: nil))
    }

    func makeCache(_ tier: RedisCacheTier, memoryEntries: Int = 1_000) throws -> StrataCache {
        var configuration = StrataCache.Configuration(memoryMaximumEntries: memoryEntries)
        configuration.breaker = .init(consecutiveFailures: 2, breakDuration: .milliseconds(300))
        return try StrataCache(configuration: configuration, distributedTier: tier)
    }

    @Test(.timeLimit(.minutes(1))) func entriesWrittenByOneInstanceAreReadByAnotherThroughRedis() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server) { firstTier, client in
                try await withTier(on: server) { secondTier, _ in
                    let namespace = try CacheNamespace<Item>("item", codec: JSONCacheCodec(), defaultOptions: Self.options())
                    let first = try makeCache(firstTier)
                    let second = try makeCache(secondTier)
                    let key = namespace.key(7)
                    _ = try await first.value(for: key) { Item(id: 7, name: "seven") }
                    let read = try await second.value(for: key) { Item(id: 7, name: "other") }
                    #expect(read == Item(id: 7, name: "seven"))
                    #expect(second.statistics().distributedHits == 1)
                    // Physical TTL = fresh 60 s + the longest stale window (600 s).
                    let ttl = try await client.rawValue(["PTTL", key.storageKey])
                    guard case .integer(let milliseconds) = ttl else { Issue.record("PTTL reply \(ttl)"); return }
                    #expect(milliseconds > 600_000 && milliseconds <= 660_000)
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aKilledRedisDegradesToMemoryAndLoaderWithoutCallerErrors() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server) { tier, _ in
                let namespace = try CacheNamespace<Item>("item", codec: BinaryCacheCodec(), defaultOptions: Self.options())
                let cache = try makeCache(tier, memoryEntries: 2)
                let loads = Counter()
                let load: @Sendable (Int) -> Item = { id in
                    loads.increment()
                    return Item(id: id, name: "n\(id)")
                }
                for id in 0..<2 { _ = try await cache.value(for: namespace.key(id)) { load(id) } }
                await server.kill()
                // Misses (ids beyond the two-entry memory tier) reach the loader; nothing throws.
                for id in 0..<20 {
                    let item = try await cache.value(for: namespace.key(id)) { load(id) }
                    #expect(item.id == id)
                }
                let statistics = cache.statistics()
                #expect(statistics.distributedFailures >= 2)
                #expect(statistics.loadFailures == 0)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aBlockedRedisCostsAtMostTheTierDeadline() async throws {
        try await RedisServer.withServer(.init(enableDebugCommand: true)) { server in
            try await withTier(on: server, timeout: .milliseconds(250)) { tier, client in
                let namespace = try CacheNamespace<Item>("item", codec: JSONCacheCodec(), defaultOptions: Self.options())
                let cache = try makeCache(tier)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { _ = try await client.rawValue(["DEBUG", "SLEEP", "3"], timeout: .seconds(20)) }
                    try await Task.sleep(for: .milliseconds(200))
                    let started = ContinuousClock.now
                    var slowest = Duration.zero
                    for id in 0..<10 {
                        let begin = ContinuousClock.now
                        let item = try await cache.value(for: namespace.key(id)) { Item(id: id, name: "n") }
                        #expect(item.id == id)
                        slowest = max(slowest, ContinuousClock.now - begin)
                    }
                    // Ten misses against a server blocked for 3 s: each waits at most one 250 ms
                    // deadline (then the breaker skips Redis), so the whole loop ends long before
                    // the block does. The bounds are loose on purpose; a loaded box is slow.
                    #expect(slowest < .milliseconds(1500))
                    #expect(ContinuousClock.now - started < .milliseconds(2500))
                    try await group.waitForAll()
                }
                #expect(cache.statistics().loadFailures == 0)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func afterARestartTheBreakerClosesAndWritesReachRedisAgain() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server) { tier, client in
                let namespace = try CacheNamespace<Item>("item", codec: JSONCacheCodec(), defaultOptions: Self.options())
                let cache = try makeCache(tier)
                await server.kill()
                for id in 0..<4 { _ = try await cache.value(for: namespace.key(id)) { Item(id: id, name: "down") } }
                #expect(cache.statistics().distributedFailures >= 2)
                try await server.restart()
                // The breaker half-opens after 300 ms; the client reconnects with backoff.
                let key = namespace.key(100)
                var stored = false
                for attempt in 0..<100 where !stored {
                    try await Task.sleep(for: .milliseconds(100))
                    stored = try await cache.set(Item(id: 100, name: "back \(attempt)"), for: key)
                }
                #expect(stored)
                let raw = try await client.rawValue(["EXISTS", key.storageKey])
                #expect(raw == .integer(1))
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aThousandCallersOnAMissingHotKeyLoadOncePerProcessOverRedis() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTier(on: server) { tier, _ in
                let namespace = try CacheNamespace<Item>(
                    "hot", codec: JSONCacheCodec(), defaultOptions: CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil)))
                let cache = try makeCache(tier)
                let loads = Counter()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await cache.run() }
                    defer { group.cancelAll() }
                    try await withThrowingTaskGroup(of: Item.self) { callers in
                        for _ in 0..<1000 {
                            callers.addTask {
                                try await cache.value(for: namespace.key("hot")) {
                                    loads.increment()
                                    try await Task.sleep(for: .milliseconds(50))
                                    return Item(id: 1, name: "hot")
                                }
                            }
                        }
                        for try await item in callers { #expect(item.id == 1) }
                    }
                }
                #expect(loads.value == 1)
            }
        }
    }
}

