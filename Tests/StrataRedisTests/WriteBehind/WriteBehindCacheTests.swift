import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Testing

/// The cache side of write-behind, against a real Redis: the cache shows a write at once, the
/// source gets it from the worker, and a write that could not be queued never reaches the cache.
@Suite(.serialized, .timeLimit(.minutes(1))) struct WriteBehindCacheTests {
    struct Product: Codable, Sendable, Equatable {
        var id: Int
        var name: String
        var version: Int64
    }

    static func products() throws -> CacheNamespace<Product> {
        try CacheNamespace<Product>(
            "product", codec: JSONCacheCodec(), defaultOptions: CacheEntryOptions(freshFor: .seconds(60)),
            dataVersion: { $0.version })
    }

    func withWriter<T: Sendable>(
        highWaterMark: Int? = nil, _ body: @Sendable (WriteBehindCache, RedisClient) async throws -> T
    ) async throws -> T {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let cache = try StrataCache(
                configuration: .init(memoryMaximumEntries: 100, logger: quietWriteBehindLogger),
                distributedTier: try RedisCacheTier(client: client, configuration: .init(operationTimeout: .seconds(5))))
            let queue = try WriteBehindQueue(
                client: client, streams: try testStreams(partitions: 2), configuration: .init(highWaterMark: highWaterMark))
            return try await withRunningClient(client) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await cache.run() }
                    defer { group.cancelAll() }
                    return try await body(WriteBehindCache(cache: cache, queue: queue), client)
                }
            }
        }
    }

    @Test func theCacheShowsTheWriteAtOnceAndTheWorkerAppliesItToTheSource() async throws {
        try await withWriter { writer, client in
            let products = try Self.products()
            let product = Product(id: 7, name: "lamp", version: 3)
            let outcome = try await writer.write(product, for: products.key(7), version: 3)
            #expect(outcome.cache == .stored)
            #expect(try await writer.cache.cachedValue(for: products.key(7)) == product)

            let source = VersionedMemorySource()
            let applied = Counter()
            let worker = try WriteBehindWorker(client: client, streams: writer.queue.streams, configuration: testWorkerConfiguration()) {
                entry in
                let value = try entry.value(using: products)
                #expect(value == product)
                #expect(entry.key == products.key(7).storageKey)
                source.apply(entry)
                applied.increment()
            }
            try await withWorkers([worker]) { try await waitUntilDrained(writer.queue) }
            #expect(applied.value == 1)
            #expect(source.versions == [products.key(7).storageKey: 3])
        }
    }

    @Test func aLoaderReadingTheOlderRowCannotRecacheItBeforeTheWorkerApplies() async throws {
        try await withWriter { writer, client in
            let products = try Self.products()
            let key = products.key(8)
            try await writer.write(Product(id: 8, name: "new", version: 5), for: key, version: 5)
            // The entry expires (or is evicted) while the write still waits in the queue…
            _ = try await client.rawValue(["DEL", key.storageKey, key.storageKey + ":ver"])
            writer.cache.removeAllFromMemory()
            // …and a reader loads the source's older row: served, but its fill is refused.
            let read = try await writer.cache.value(for: key) { Product(id: 8, name: "old", version: 4) }
            #expect(read.name == "old")
            #expect(writer.cache.statistics().fillsRefused >= 1)
            #expect(try await client.rawValue(["EXISTS", key.storageKey]) == .integer(0))
        }
    }

    @Test func aWriteThatCouldNotBeQueuedLeavesTheCacheUntouched() async throws {
        try await withWriter(highWaterMark: 1) { writer, _ in
            let products = try Self.products()
            let first = Product(id: 1, name: "a", version: 1)
            try await writer.write(first, for: products.key(1), version: 1)
            let refused = await #expect(throws: WriteBehindError.self) {
                try await writer.write(Product(id: 1, name: "b", version: 2), for: products.key(1), version: 2)
            }
            #expect(refused?.code == .backPressure)
            #expect(try await writer.cache.cachedValue(for: products.key(1)) == first)
        }
    }
}
