import NIOCore
import Redis
import RedisServerHarness
import StrataRedis
import Synchronization
import Testing

@testable import Strata

/// Stale-set protection against a real Redis: leases, version watermarks, versioned write-through,
/// double delete. Each instance has its own client, cache and tier, as separate processes would.
@Suite(.serialized) struct LeaseAndVersionTests {
    struct Row: Codable, Sendable, Equatable {
        var id: Int
        var version: Int64
    }

    static let leased: CacheEntryOptions = {
        var options = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil), tiers: .distributedOnly)
        options.coherence = .init(leases: true, leaseTime: .seconds(5), maximumLeaseWait: .seconds(5))
        return options
    }()

    static func namespace(_ options: CacheEntryOptions = leased) throws -> CacheNamespace<Row> {
        try CacheNamespace<Row>("row", codec: JSONCacheCodec(), defaultOptions: options, dataVersion: { $0.version })
    }

    /// Runs `body` with `count` running instances over `server`.
    func withCaches<T: Sendable>(
        _ count: Int, on server: RedisServer, _ body: @Sendable ([StrataCache], RedisClient) async throws -> T
    ) async throws -> T {
        var clients: [RedisClient] = []
        var caches: [StrataCache] = []
        for _ in 0..<count {
            let client = try RedisClient(
                configuration: RedisConnectionConfiguration(
                    endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(5)))
            clients.append(client)
            caches.append(try StrataCache(
                configuration: .init(memoryMaximumEntries: 0),
                distributedTier: try RedisCacheTier(client: client, configuration: .init(operationTimeout: .seconds(2)))))
        }
        let allClients = clients
        let allCaches = caches
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in allClients { group.addTask { try await client.run() } }
            for cache in allCaches { group.addTask { try await cache.run() } }
            defer {
                for client in allClients { client.shutdown() }
                group.cancelAll()
            }
            for cache in allCaches { while !cache.background.isRunning { await Task.yield() } }
            // Let the fill-notification subscriptions establish.
            try await Task.sleep(for: .milliseconds(100))
            return try await body(allCaches, allClients[0])
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFillThatAnInvalidationOvertookIsRefused() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withCaches(2, on: server) { caches, client in
                let reader = caches[0]
                let writer = caches[1]
                let key = try Self.namespace().key(1)
                let probe = LoaderProbe()
                probe.close()
                // 1. The reader misses, takes the lease and reads v1 from the source...
                let read = Task { try await reader.value(for: key) { try await probe.load(Row(id: 1, version: 1)) } }
                while probe.waitingCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
                // 2. ...the writer commits v2 and invalidates...
                #expect(await writer.invalidate(key, version: 2))
                // 3. ...and the reader's fill of v1 arrives last: refused.
                probe.open()
                let returned = try await read.value
                #expect(returned.version == 1)
                // The caller has its value before the fill is attempted; wait for the verdict.
                while reader.statistics().fillsRefused == 0 { try await Task.sleep(for: .milliseconds(2)) }
                let raw = try await client.rawValue(["EXISTS", key.storageKey])
                #expect(raw == .integer(0))
                let next = try await reader.value(for: key) { Row(id: 1, version: 2) }
                #expect(next.version == 2)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func theWatermarkRefusesOlderVersionsEvenWithoutALease() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withCaches(1, on: server) { caches, _ in
                let cache = caches[0]
                var plain = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil), tiers: .distributedOnly)
                plain.coherence.leases = false
                let key = try Self.namespace(plain).key(2)
                #expect(await cache.invalidate(key, version: 5))
                _ = try await cache.value(for: key) { Row(id: 2, version: 4) }
                while cache.statistics().fillsRefused == 0 { try await Task.sleep(for: .milliseconds(2)) }
                #expect(try await cache.cachedValue(for: key) == nil)
                _ = try await cache.value(for: key) { Row(id: 2, version: 5) }
                var stored: Row?
                while stored == nil {
                    stored = try await cache.cachedValue(for: key)
                    if stored == nil { try await Task.sleep(for: .milliseconds(2)) }
                }
                #expect(stored?.version == 5)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func versionedWriteThroughNeverLetsAnOlderWriteWin() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withCaches(2, on: server) { caches, _ in
                let key = try Self.namespace().key(3)
                #expect(try await caches[0].write(Row(id: 3, version: 3), for: key, version: 3) == .stored)
                #expect(try await caches[1].write(Row(id: 3, version: 2), for: key, version: 2) == .olderThanStored)
                #expect(try await caches[1].cachedValue(for: key)?.version == 3)
                #expect(try await caches[1].write(Row(id: 3, version: 4), for: key, version: 4) == .stored)
                #expect(try await caches[0].cachedValue(for: key)?.version == 4)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func oneLeaseCapsTheHerdAcrossInstances() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withCaches(3, on: server) { caches, _ in
                let key = try Self.namespace().key(4)
                let loads = Counter()
                try await withThrowingTaskGroup(of: Row.self) { group in
                    for index in 0..<300 {
                        let cache = caches[index % caches.count]
                        group.addTask {
                            try await cache.value(for: key) {
                                loads.increment()
                                try await Task.sleep(for: .milliseconds(50))
                                return Row(id: 4, version: 1)
                            }
                        }
                    }
                    for try await row in group { #expect(row.version == 1) }
                }
                #expect(loads.value == 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func doubleDeleteRemovesAgainAfterTheDelayEvenIfTheCallerIsCancelled() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withCaches(1, on: server) { caches, client in
                let cache = caches[0]
                var plain = CacheEntryOptions(freshFor: .seconds(60), refresh: .init(beta: nil), tiers: .distributedOnly)
                plain.coherence.leases = false
                let key = try CacheNamespace<String>("dd", codec: StringCacheCodec(), defaultOptions: plain).key(1)
                _ = try await cache.set("v1", for: key)
                let caller = Task { await cache.remove(key, againAfter: .milliseconds(200)) }
                _ = await caller.value
                caller.cancel()
                // A stale fill lands between the two deletes...
                _ = try await cache.set("stale", for: key)
                // ...and the second delete removes it.
                while cache.statistics().delayedDeletes == 0 { try await Task.sleep(for: .milliseconds(10)) }
                let raw = try await client.rawValue(["EXISTS", key.storageKey])
                #expect(raw == .integer(0))
            }
        }
    }
}

/// Counts calls from many tasks.
final class Counter: Sendable {
    private let storage = Mutex(0)
    var value: Int { storage.withLock { $0 } }
    func increment() { storage.withLock { $0 += 1 } }
}

/// Holds loads open until the test says so.
final class LoaderProbe: Sendable {
    private let state = Mutex<(gated: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    var waitingCount: Int { state.withLock { $0.waiting.count } }
    func close() { state.withLock { $0.gated = true } }

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.gated = false
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func load<Value: Sendable>(_ value: Value) async throws -> Value {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                guard state.gated else { return true }
                state.waiting.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
        return value
    }
}
