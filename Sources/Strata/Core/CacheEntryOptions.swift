/// How one entry is cached: freshness, staleness windows, early refresh, loader timeouts, negative
/// caching and which tiers to use. Grouped by concern; validated before use.
///
/// ```swift
/// var options = CacheEntryOptions(freshFor: .seconds(300))
/// options.expiration.memoryFreshFor = .seconds(30)   // in-process copies revalidate sooner
/// options.staleness.ifError = .seconds(3600)         // fail-safe: serve up to an hour stale
/// options.refresh.beta = 1                           // XFetch early refresh
/// ```
public struct CacheEntryOptions: Sendable, Hashable {
    /// When an entry stops being fresh.
    public struct Expiration: Sendable, Hashable {
        /// How long a loaded value is fresh (the distributed tier's logical lifetime).
        public var freshFor: Duration
        /// How long the in-process copy is trusted before it is revalidated against the distributed
        /// tier; `nil` means `freshFor`. Never longer than `freshFor`.
        public var memoryFreshFor: Duration?
        /// A random extra of up to this much is added to `freshFor`, so entries filled together do not
        /// expire together.
        public var jitter: Duration

        /// Creates expiration settings.
        public init(freshFor: Duration, memoryFreshFor: Duration? = nil, jitter: Duration = .zero) {
            self.freshFor = freshFor
            self.memoryFreshFor = memoryFreshFor
            self.jitter = jitter
        }
    }

    /// How long and why an entry may be served after it stops being fresh.
    public struct Staleness: Sendable, Hashable {
        /// A stale value this young (past fresh) is returned at once while one background refresh runs.
        public var whileRevalidate: Duration
        /// Fail-safe window: when the loader fails or times out, a value this young (past fresh) is
        /// served instead of the error.
        public var ifError: Duration
        /// After serving stale because the loader failed, the stale value counts as fresh for this long
        /// so the failing source is not retried on every request.
        public var failSafeThrottle: Duration

        /// Creates staleness settings.
        public init(whileRevalidate: Duration = .zero, ifError: Duration = .zero, failSafeThrottle: Duration = .seconds(30)) {
            self.whileRevalidate = whileRevalidate
            self.ifError = ifError
            self.failSafeThrottle = failSafeThrottle
        }
    }

    /// Refreshing a hot entry before it expires, so no caller waits for the loader.
    public struct EarlyRefresh: Sendable, Hashable {
        /// XFetch's β: refresh early with probability `exp(-(freshUntil - now) / (β·Δ))`, Δ the
        /// measured load time. `nil` turns probabilistic early refresh off; 1 is the paper's default.
        public var beta: Double?
        /// Refresh-ahead: once this fraction of the fresh lifetime has passed, a hit starts a background
        /// refresh (0.8 = in the last 20%). `nil` turns it off.
        public var refreshAheadFraction: Double?

        /// Creates early-refresh settings.
        public init(beta: Double? = 1, refreshAheadFraction: Double? = nil) {
            self.beta = beta
            self.refreshAheadFraction = refreshAheadFraction
        }
    }

    /// Bounds on the loader.
    public struct LoaderTimeouts: Sendable, Hashable {
        /// After this long, callers get the stale value (when one is available) while the load goes on
        /// in the background and stores its result.
        public var soft: Duration?
        /// After this long the load is cancelled and counts as failed.
        public var hard: Duration?

        /// Creates loader timeouts.
        public init(soft: Duration? = nil, hard: Duration? = nil) {
            self.soft = soft
            self.hard = hard
        }
    }

    /// Keeping the distributed tier correct under concurrent writes (needs a ``CoherentCacheTier``).
    public struct Coherence: Sendable, Hashable {
        /// On a miss, one caller across all instances takes a lease and loads; the others wait for
        /// its fill (or take a stale copy). A fill lands only if no invalidation voided the lease.
        public var leases: Bool
        /// How long a lease lasts if its holder never fills (crashed, hung).
        public var leaseTime: Duration
        /// How long a caller waits for another caller's fill before loading itself (its result is
        /// then returned but not cached, since it holds no lease).
        public var maximumLeaseWait: Duration

        /// Creates coherence settings.
        public init(leases: Bool = false, leaseTime: Duration = .seconds(10), maximumLeaseWait: Duration = .seconds(2)) {
            self.leases = leases
            self.leaseTime = leaseTime
            self.maximumLeaseWait = maximumLeaseWait
        }
    }

    /// Which tiers a call reads and writes.
    public struct Tiers: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Read the in-process tier.
        public static let readMemory = Tiers(rawValue: 1 << 0)
        /// Write the in-process tier.
        public static let writeMemory = Tiers(rawValue: 1 << 1)
        /// Read the distributed tier.
        public static let readDistributed = Tiers(rawValue: 1 << 2)
        /// Write the distributed tier.
        public static let writeDistributed = Tiers(rawValue: 1 << 3)
        /// Both tiers, read and write.
        public static let all: Tiers = [.readMemory, .writeMemory, .readDistributed, .writeDistributed]
        /// The in-process tier only.
        public static let memoryOnly: Tiers = [.readMemory, .writeMemory]
        /// The distributed tier only.
        public static let distributedOnly: Tiers = [.readDistributed, .writeDistributed]
        /// No tier: the call goes straight to the loader (for reads that need the source's latest
        /// state, such as a checkout reading stock). Nothing is read, written or shared.
        public static let bypass: Tiers = []
    }

    /// Freshness.
    public var expiration: Expiration
    /// Stale-while-revalidate and stale-if-error (fail-safe).
    public var staleness: Staleness
    /// XFetch and refresh-ahead.
    public var refresh: EarlyRefresh
    /// Soft and hard loader timeouts.
    public var timeouts: LoaderTimeouts
    /// How long a "not found" answer (a loader returning `nil`) is cached; `nil` caches nothing.
    public var negativeFor: Duration?
    /// Which tiers to read and write.
    public var tiers: Tiers
    /// Leases (stale-set protection).
    public var coherence: Coherence = Coherence()
    /// Tags of the entry, for ``StrataCache/invalidate(tag:)``: each is 1-256 UTF-8 bytes, at most
    /// 63, none starting with `@` (reserved for namespaces). Every entry also carries its
    /// namespace's own tag, so ``StrataCache/clear(_:)`` needs none. Tags that depend on the value
    /// go in ``CacheNamespace``'s `tags` function instead.
    public var tags: [String] = []

    /// Creates options; every group has a production-minded default.
    public init(
        freshFor: Duration = .seconds(300),
        staleness: Staleness = Staleness(),
        refresh: EarlyRefresh = EarlyRefresh(),
        timeouts: LoaderTimeouts = LoaderTimeouts(),
        negativeFor: Duration? = nil,
        tiers: Tiers = .all
    ) {
        self.expiration = Expiration(freshFor: freshFor)
        self.staleness = staleness
        self.refresh = refresh
        self.timeouts = timeouts
        self.negativeFor = negativeFor
        self.tiers = tiers
    }

    /// How long past `freshUntil` the entry must physically exist so that stale values can be served.
    var staleHorizon: Duration { max(staleness.whileRevalidate, staleness.ifError) }

    /// Rejects combinations that cannot mean what the caller intended.
    ///
    /// - Throws: ``CacheError`` with code `.invalidConfiguration`, naming the offending setting.
    public func validate() throws(CacheError) {
        func fail(_ message: String) -> CacheError { CacheError(.invalidConfiguration, message) }
        guard expiration.freshFor > .zero else { throw fail("expiration.freshFor must be positive") }
        if let memory = expiration.memoryFreshFor {
            guard memory > .zero else { throw fail("expiration.memoryFreshFor must be positive") }
            guard memory <= expiration.freshFor else {
                throw fail("expiration.memoryFreshFor must not exceed freshFor (the in-process copy cannot outlive the entry)")
            }
        }
        guard expiration.jitter >= .zero else { throw fail("expiration.jitter must not be negative") }
        guard staleness.whileRevalidate >= .zero, staleness.ifError >= .zero else {
            throw fail("staleness windows must not be negative")
        }
        guard staleness.failSafeThrottle > .zero else { throw fail("staleness.failSafeThrottle must be positive") }
        if let beta = refresh.beta {
            guard beta > 0, beta.isFinite else { throw fail("refresh.beta must be a positive finite number") }
        }
        if let fraction = refresh.refreshAheadFraction {
            guard fraction > 0, fraction < 1 else { throw fail("refresh.refreshAheadFraction must be in (0, 1)") }
        }
        if let soft = timeouts.soft { guard soft > .zero else { throw fail("timeouts.soft must be positive") } }
        if let hard = timeouts.hard { guard hard > .zero else { throw fail("timeouts.hard must be positive") } }
        if let soft = timeouts.soft, let hard = timeouts.hard, soft >= hard {
            throw fail("timeouts.soft must be shorter than timeouts.hard")
        }
        if let negative = negativeFor { guard negative > .zero else { throw fail("negativeFor must be positive") } }
        guard coherence.leaseTime > .zero, coherence.maximumLeaseWait >= .zero else {
            throw fail("coherence.leaseTime must be positive and maximumLeaseWait not negative")
        }
        if !tags.isEmpty { try CacheTagRules.validate(tags) }
    }
}
