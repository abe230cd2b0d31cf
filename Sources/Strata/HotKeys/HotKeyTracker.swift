import Synchronization

/// Finds each namespace's most-read keys, in fixed memory, from a sample of the cache's reads.
///
/// A ``StrataCache`` owns one (see ``StrataCache/Configuration/hotKeys``; on by default) and feeds
/// it from its read path: the in-process tier's shards already count their lookups under their
/// lock, and one lookup in ``Configuration/sampleEvery`` (per shard) is recorded here, with that
/// weight, so the counts estimate real reads. Recording takes this tracker's lock and updates a
/// count-min sketch and a bounded top-K table of the key's namespace (`HotKeyTopK`).
///
/// What it is for: publishing the hot list (`HotKeyPublisher` in StrataRedis merges every
/// instance's counts into one Redis sorted set per namespace) so that a new or restarted instance
/// can warm exactly those keys (``StrataCache/warm(_:from:limit:concurrency:options:progress:load:)``).
///
/// Memory: per namespace, `4 × sketchWidth` 32-bit counters and at most ``Configuration/keysPerNamespace``
/// keys; at most ``Configuration/maximumNamespaces`` namespaces (reads of further namespaces are
/// not tracked). Independent of how many distinct keys are read.
///
/// Concurrency: every method may be called from any task; calls serialise on one lock, which the
/// read path takes on sampled reads only.
public final class HotKeyTracker: Sendable {
    /// How much a tracker remembers and how often it samples.
    public struct Configuration: Sendable, Hashable {
        /// Keys kept per namespace (the longest hot list it can publish). Default 256.
        public var keysPerNamespace: Int
        /// One read in this many (per in-process shard) is recorded; a power of two. Default 16;
        /// 1 records every read (for tests and low traffic).
        public var sampleEvery: Int
        /// Namespaces tracked; reads of others are ignored. Default 64.
        public var maximumNamespaces: Int
        /// Counters per sketch row; `nil` sizes it from `keysPerNamespace` (8×, at least 1,024).
        public var sketchWidth: Int?
        /// Estimated reads between two halvings of a namespace's counts; `nil` means
        /// `16 × sketchWidth × sampleEvery`. Shorter follows shifts faster, longer ranks more steadily.
        public var halvingInterval: Int?

        /// Creates a configuration.
        public init(
            keysPerNamespace: Int = 256, sampleEvery: Int = 16, maximumNamespaces: Int = 64, sketchWidth: Int? = nil,
            halvingInterval: Int? = nil
        ) {
            self.keysPerNamespace = keysPerNamespace
            self.sampleEvery = sampleEvery
            self.maximumNamespaces = maximumNamespaces
            self.sketchWidth = sketchWidth
            self.halvingInterval = halvingInterval
        }

        /// Rejects non-positive sizes and a sampling rate that is not a power of two.
        ///
        /// - Throws: ``CacheError`` `.invalidConfiguration`.
        public func validate() throws(CacheError) {
            func fail(_ message: String) -> CacheError { CacheError(.invalidConfiguration, "hotKeys: " + message) }
            guard keysPerNamespace > 0, maximumNamespaces > 0 else { throw fail("sizes must be positive") }
            guard sampleEvery > 0, sampleEvery & (sampleEvery - 1) == 0, sampleEvery <= 1 << 20 else {
                throw fail("sampleEvery must be a power of two up to 2^20")
            }
            if let sketchWidth { guard sketchWidth > 0, sketchWidth <= 1 << 24 else { throw fail("sketchWidth must be in 1...2^24") } }
            if let halvingInterval { guard halvingInterval > 0 else { throw fail("halvingInterval must be positive") } }
        }

        var resolvedSketchWidth: Int { sketchWidth ?? max(1_024, keysPerNamespace * 8) }
        var resolvedHalvingInterval: Int {
            halvingInterval ?? 16 * FrequencySketch.powerOfTwo(atLeast: resolvedSketchWidth) * sampleEvery
        }
    }

    /// The settings this tracker was created with.
    public let configuration: Configuration
    /// `sampleEvery - 1`, for the read path's `count & mask == 0` test.
    let sampleMask: Int
    private let seed: UInt64
    private let namespaces = Mutex<[String: HotKeyTopK]>([:])

    /// Creates an empty tracker.
    ///
    /// - Throws: ``CacheError`` `.invalidConfiguration` for an incoherent configuration.
    public init(configuration: Configuration = Configuration()) throws(CacheError) {
        try configuration.validate()
        self.configuration = configuration
        sampleMask = configuration.sampleEvery - 1
        var generator = SystemRandomNumberGenerator()
        seed = generator.next()
    }

    /// Records `count` reads of `storageKey` in `namespace`, unsampled (the cache records its
    /// sampled reads with weight ``Configuration/sampleEvery``).
    ///
    /// - Complexity: O(1) amortised (see `HotKeyTopK`).
    public func record(namespace: String, storageKey: String, count: Int = 1) {
        guard count > 0 else { return }
        var hasher = Hasher()
        hasher.combine(storageKey)
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        let weight = UInt32(clamping: count)
        namespaces.withLock { namespaces in
            if namespaces[namespace] == nil {
                guard namespaces.count < configuration.maximumNamespaces else { return }
                namespaces[namespace] = HotKeyTopK(
                    capacity: configuration.keysPerNamespace, sketchWidth: configuration.resolvedSketchWidth,
                    halvingInterval: configuration.resolvedHalvingInterval, seed: seed ^ UInt64(namespaces.count))
            }
            namespaces[namespace]?.record(storageKey, hash: hash, weight: weight)
        }
    }

    /// Records one sampled read on behalf of the cache's read path.
    func recordSampledRead(namespace: String, storageKey: String) {
        record(namespace: namespace, storageKey: storageKey, count: configuration.sampleEvery)
    }

    /// The namespaces with tracked keys.
    public var trackedNamespaces: [String] { namespaces.withLock { Array($0.keys).sorted() } }

    /// The `limit` most-read keys of `namespace`, hottest first, with their estimated reads.
    ///
    /// - Complexity: O(k log k) for k = ``Configuration/keysPerNamespace``.
    public func topKeys(namespace: String, limit: Int) -> [HotKey] {
        namespaces.withLock { $0[namespace]?.top(limit) ?? [] }
    }

    /// The estimated reads per tracked key since the previous call, by namespace, and starts
    /// counting again: what a publisher adds to a shared, summed hot list.
    ///
    /// A key that just entered a namespace's table reports its estimated history once.
    public func takeCountsSinceLastCall() -> [String: [HotKey]] {
        namespaces.withLock { namespaces in
            var result: [String: [HotKey]] = [:]
            for name in Array(namespaces.keys) {
                let counts = namespaces[name]?.takeUnpublished() ?? []
                if !counts.isEmpty { result[name] = counts }
            }
            return result
        }
    }

    /// The bytes of sketch counters held (keys come on top, at most `keysPerNamespace` per namespace).
    public var sketchBytes: Int { namespaces.withLock { $0.values.reduce(0) { $0 + $1.sketchBytes } } }
}
