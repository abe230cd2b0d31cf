/// An error from the cache. Its description names what went wrong, never a key or a value.
public struct CacheError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, loaderFailed, loaderTimedOut, decodingFailed, encodingFailed
            case distributedTierUnavailable, cancelled, notRunning, tagInvalidationFailed, hotKeySourceFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Options or configuration that contradict themselves; rejected before use.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The loader threw and no stale value could be served.
        public static let loaderFailed = Code(.loaderFailed)
        /// The loader exceeded its hard timeout and no stale value could be served.
        public static let loaderTimedOut = Code(.loaderTimedOut)
        /// Cached bytes could not be decoded into the key's value type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A value could not be encoded for the distributed tier.
        public static let encodingFailed = Code(.encodingFailed)
        /// The distributed tier failed or its circuit breaker is open.
        public static let distributedTierUnavailable = Code(.distributedTierUnavailable)
        /// The caller's task was cancelled while waiting.
        public static let cancelled = Code(.cancelled)
        /// Work that needs the cache's `run()` was requested while it is not running.
        public static let notRunning = Code(.notRunning)
        /// A tag's (or namespace's) epoch could not be advanced: the tag was NOT invalidated and
        /// entries carrying it stay valid everywhere. Retry, or fall back to shorter lifetimes.
        public static let tagInvalidationFailed = Code(.tagInvalidationFailed)

        /// A warm could not read its list of keys (the published hot list) from its ``HotKeySource``.
        public static let hotKeySourceFailed = Code(.hotKeySourceFailed)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation without keys or values.
    public let message: String
    /// The error that caused this one, if any (for example the loader's error).
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "CacheError(\(code)): \(message)" }

    public var debugDescription: String {
        guard let underlying else { return description }
        return "\(description) [underlying: \(String(reflecting: underlying))]"
    }
}
