/// Why an entry left a ``MemoryCache``.
public struct EvictionCause: Hashable, Sendable, CustomStringConvertible {
    fileprivate enum Base: String, Hashable, Sendable, CaseIterable {
        case size, expired, explicit, replaced
    }
    fileprivate let base: Base
    fileprivate init(_ base: Base) { self.base = base }

    /// The policy evicted it to keep the cache within its count or weight bound, or it was heavier
    /// than a whole shard and never kept.
    public static let size = EvictionCause(.size)
    /// Its expiry passed; found by a lookup or by maintenance.
    public static let expired = EvictionCause(.expired)
    /// `removeValue(forKey:)`, `removeAll()` or `removeAll(where:)` removed it.
    public static let explicit = EvictionCause(.explicit)
    /// A new value was set for its key (the listener receives the old value).
    public static let replaced = EvictionCause(.replaced)

    /// Every cause, for exporting one counter per cause.
    public static let allCases: [EvictionCause] = Base.allCases.map(EvictionCause.init)

    /// A stable name for logs and metric dimensions.
    public var description: String { base.rawValue }
}

/// Counters of a ``MemoryCache`` since it was created, summed over its shards.
///
/// Each shard's counters are read under its own lock, one shard after the other, so a snapshot
/// taken during traffic is not one instant; every counter only grows.
public struct MemoryCacheStatistics: Hashable, Sendable {
    /// Lookups that returned a value.
    public var hits = 0
    /// Lookups that returned nothing (including those that found an expired entry).
    public var misses = 0
    /// Entries removed to stay within the bounds (``EvictionCause/size``).
    public var evictions = 0
    /// Entries removed because they expired (``EvictionCause/expired``).
    public var expirations = 0
    /// Entries removed by the caller (``EvictionCause/explicit``).
    public var removals = 0
    /// Values overwritten by a new value for the same key (``EvictionCause/replaced``).
    public var replacements = 0

    /// Creates zeroed counters.
    public init() {}

    /// `hits / (hits + misses)`, or 0 before the first lookup.
    public var hitRatio: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }

    /// How many entries left for `cause`.
    public func count(of cause: EvictionCause) -> Int {
        switch cause.base {
        case .size: evictions
        case .expired: expirations
        case .explicit: removals
        case .replaced: replacements
        }
    }

    @usableFromInline
    mutating func record(_ cause: EvictionCause) {
        switch cause.base {
        case .size: evictions += 1
        case .expired: expirations += 1
        case .explicit: removals += 1
        case .replaced: replacements += 1
        }
    }

    static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.hits += rhs.hits
        sum.misses += rhs.misses
        sum.evictions += rhs.evictions
        sum.expirations += rhs.expirations
        sum.removals += rhs.removals
        sum.replacements += rhs.replacements
        return sum
    }
}
