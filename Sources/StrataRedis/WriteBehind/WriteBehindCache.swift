public import Strata

/// Write-behind on top of a `StrataCache`: the cache is updated at once and the write
/// is queued for a ``WriteBehindWorker`` to apply to the source of truth.
///
/// ```swift
/// let writer = WriteBehindCache(cache: cache, queue: queue)
/// try await writer.write(product, for: products.key(product.id), version: product.version)
/// ```
///
/// Order of the two steps: the write is queued first, then the cache is written with the
/// version (`StrataCache.write(_:for:version:options:)`, a compare-and-set that never
/// lets an older version replace a newer one). So a write the cache shows is always on its way
/// to the source: if queueing fails (Redis down, back-pressure), the call throws and the cache
/// is untouched.
///
/// The queue key is the cache key's `CacheKey.storageKey` and the payload is the value
/// encoded with the key's namespace codec; a worker decodes it with
/// ``WriteBehindEntry/value(using:)``.
///
/// Until the worker has applied the write, a loader reads the older row from the source. So
/// the write also raises the key's version watermark (`StrataCache.raiseVersionWatermark(_:to:)`):
/// if the entry is evicted or expires before the write is applied, a reader may still load the
/// older row, but its fill is refused and it is never cached — provided the namespace reports
/// versions (`CacheNamespace.dataVersion`). Without versions, choose entry lifetimes well above
/// the expected queue lag. The watermark lasts `RedisCacheTier.Configuration.watermarkLifetime`.
public struct WriteBehindCache: Sendable {
    /// The cache updated at once.
    public let cache: StrataCache
    /// The queue the writes go to.
    public let queue: WriteBehindQueue

    /// Pairs a cache and a queue.
    public init(cache: StrataCache, queue: WriteBehindQueue) {
        self.cache = cache
        self.queue = queue
    }

    /// What a write-behind write did.
    public struct Outcome: Sendable, Hashable {
        /// Where the queued write went.
        public var receipt: WriteBehindReceipt
        /// The distributed tier's verdict on the cache write (`nil`: the tier could not be
        /// reached, and the key was removed from this process's in-process tier instead).
        public var cache: FillOutcome?
    }

    /// Queues `value` as `version` of `key`'s record, then writes it to the cache.
    ///
    /// - Throws: ``WriteBehindError`` (`.encodingFailed`, `.backPressure`, `.redisUnavailable`)
    ///   before anything changed; after the write was queued, a `CacheError` for
    ///   invalid `options` (the write is still queued and will be applied; the key is
    ///   invalidated so no older copy survives in the cache).
    @discardableResult
    public func write<Value: Sendable>(
        _ value: Value, for key: CacheKey<Value>, version: Int64, options: CacheEntryOptions? = nil
    ) async throws -> Outcome {
        let payload: [UInt8]
        do {
            payload = try key.namespace.codec.encode(value)
        } catch {
            throw WriteBehindError(.encodingFailed, "the value could not be encoded with its namespace codec", underlying: error)
        }
        let receipt = try await queue.enqueue(key: key.storageKey, payload: payload, version: version)
        // Best effort, like every cache write: a failure leaves the gap described above.
        await cache.raiseVersionWatermark(key, to: version)
        do {
            let outcome = try await cache.write(value, for: key, version: version, options: options)
            return Outcome(receipt: receipt, cache: outcome)
        } catch {
            await cache.invalidate(key, version: version)
            throw error
        }
    }
}

extension WriteBehindEntry {
    /// The queued value, decoded with `namespace`'s codec (for entries queued by
    /// ``WriteBehindCache``).
    ///
    /// - Throws: the codec's error for bytes it cannot read.
    public func value<Value>(using namespace: CacheNamespace<Value>) throws -> Value {
        try namespace.codec.decode(payload)
    }
}
