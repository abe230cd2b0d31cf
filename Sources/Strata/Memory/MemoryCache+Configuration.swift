#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension MemoryCache {
    /// How a ``MemoryCache`` is bounded, sharded and observed.
    ///
    /// Bound the cache by entry count (`maximumCount`), by total weight (`maximumWeight` with a
    /// `weigher`), or both. Incoherent combinations are rejected by ``MemoryCache/init(_:)``.
    public struct Configuration: Sendable {
        /// The most entries the cache holds, or `nil` for no count bound.
        public var maximumCount: Int?
        /// The largest total weight the cache holds (in the weigher's unit), or `nil`.
        public var maximumWeight: Int?
        /// Weighs an entry when it is set; required with `maximumWeight`. Must return a value
        /// `>= 0` and must not use the cache (it runs outside the cache's locks, on the caller).
        public var weigher: (@Sendable (Key, Value) -> Int)?
        /// The number of independently locked shards, a power of two; `nil` picks one with
        /// ``MemoryCache/automaticShardCount(capacity:processors:)``.
        public var shardCount: Int?
        /// The clock that decides expiry.
        public var clock: any CacheClock
        /// Called for every entry that leaves the cache, with the reason. It runs on the thread
        /// that caused the removal, after the cache's lock is released, so it may use the cache;
        /// it should be quick because that caller waits for it.
        public var evictionListener: (@Sendable (Key, Value, EvictionCause) -> Void)?

        /// Creates a configuration; see the properties for each setting.
        public init(
            maximumCount: Int? = nil,
            maximumWeight: Int? = nil,
            weigher: (@Sendable (Key, Value) -> Int)? = nil,
            shardCount: Int? = nil,
            clock: any CacheClock = SystemCacheClock(),
            evictionListener: (@Sendable (Key, Value, EvictionCause) -> Void)? = nil
        ) {
            self.maximumCount = maximumCount
            self.maximumWeight = maximumWeight
            self.weigher = weigher
            self.shardCount = shardCount
            self.clock = clock
            self.evictionListener = evictionListener
        }

        /// Checks the settings and returns the bounds of each shard.
        func shardBounds() throws(CacheConfigurationError) -> [(count: Int, weight: Int)] {
            guard maximumCount != nil || maximumWeight != nil else {
                throw CacheConfigurationError(
                    code: .missingBound, message: "set maximumCount, maximumWeight (with a weigher), or both")
            }
            if let maximumCount, maximumCount <= 0 {
                throw CacheConfigurationError(code: .nonPositiveBound, message: "maximumCount must be positive")
            }
            if let maximumWeight, maximumWeight <= 0 {
                throw CacheConfigurationError(code: .nonPositiveBound, message: "maximumWeight must be positive")
            }
            if weigher != nil && maximumWeight == nil {
                throw CacheConfigurationError(
                    code: .weigherWithoutWeightBound, message: "a weigher needs maximumWeight to bound the cache")
            }
            if weigher == nil && maximumWeight != nil {
                throw CacheConfigurationError(
                    code: .weightBoundWithoutWeigher, message: "maximumWeight needs a weigher to weigh entries")
            }
            // The count bound decides hit ratio when there is one; otherwise the weight bound.
            let capacity = maximumCount ?? maximumWeight ?? 1
            let shards: Int
            if let shardCount {
                guard shardCount > 0, shardCount & (shardCount - 1) == 0 else {
                    throw CacheConfigurationError(code: .invalidShardCount, message: "shardCount must be a power of two")
                }
                guard shardCount <= min(maximumCount ?? .max, maximumWeight ?? .max) else {
                    throw CacheConfigurationError(
                        code: .invalidShardCount, message: "shardCount exceeds the bound: a shard would hold nothing")
                }
                shards = shardCount
            } else {
                shards = MemoryCache.automaticShardCount(capacity: capacity, processors: Self.processorCount)
            }
            return (0..<shards).map { index in
                (Self.share(of: maximumCount, shard: index, of: shards), Self.share(of: maximumWeight, shard: index, of: shards))
            }
        }

        /// Splits a bound so that the shards' bounds add up to it exactly (`Int.max` when unbounded).
        private static func share(of bound: Int?, shard index: Int, of shards: Int) -> Int {
            guard let bound else { return .max }
            return bound / shards + (index < bound % shards ? 1 : 0)
        }

        private static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    }

    /// The shards' share of the bound below which a cache gets fewer shards.
    ///
    /// Sharding splits the policy too: each shard has its own window, sketch and adaptation, and
    /// sees only its keys. Below a few thousand entries per shard that costs hit ratio (the
    /// window and the protected segment get too coarse, a hot key's shard gets crowded); above, the
    /// shards behave like the whole (measured on the cache2k traces, see docs/architecture.md).
    public static var minimumEntriesPerShard: Int { 4096 }

    /// The shard count used when the configuration names none: the largest power of two that is
    /// at most four per processor (capped at 64) and leaves every shard at least
    /// ``minimumEntriesPerShard`` of the capacity. Small caches get one shard.
    ///
    /// - Parameters:
    ///   - capacity: `maximumCount` if set, else `maximumWeight`.
    ///   - processors: online processors.
    public static func automaticShardCount(capacity: Int, processors: Int) -> Int {
        let ceiling = min(64, FrequencySketch.powerOfTwo(atLeast: max(1, 4 * processors)))
        var shards = 1
        while shards < ceiling && capacity / (shards * 2) >= minimumEntriesPerShard { shards *= 2 }
        return shards
    }
}
