/// A cache configuration that cannot work as written, rejected when the cache is created.
///
/// Strata refuses incoherent combinations instead of silently fixing them: a cache that quietly
/// ignores a bound is worse than one that fails at startup.
public struct CacheConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case missingBound = "missing_bound"
            case nonPositiveBound = "non_positive_bound"
            case weigherWithoutWeightBound = "weigher_without_weight_bound"
            case weightBoundWithoutWeigher = "weight_bound_without_weigher"
            case invalidShardCount = "invalid_shard_count"
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// Neither an entry count nor a total weight bounds the cache.
        public static let missingBound = Code(.missingBound)
        /// A bound is zero or negative.
        public static let nonPositiveBound = Code(.nonPositiveBound)
        /// A weigher was given but no total weight to compare its weights with.
        public static let weigherWithoutWeightBound = Code(.weigherWithoutWeightBound)
        /// A total weight was given but no weigher to weigh entries with.
        public static let weightBoundWithoutWeigher = Code(.weightBoundWithoutWeigher)
        /// The shard count is not a power of two, or leaves a shard less than one entry (or weight unit).
        public static let invalidShardCount = Code(.invalidShardCount)

        /// A stable name for logs.
        public var description: String { base.rawValue }
    }

    /// What is wrong.
    public var code: Code
    /// A human-readable explanation naming the offending setting (never a key or value).
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The code and the message; never a key or a value.
    public var description: String { "CacheConfigurationError(\(code)): \(message)" }
}
