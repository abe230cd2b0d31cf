/// An error from the write-behind queue or worker. Its description names what went wrong, never
/// a key, a payload or a version.
public struct WriteBehindError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, backPressure, redisUnavailable, malformedEntry, encodingFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Settings that contradict themselves; rejected at construction.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The partition's backlog reached the high-water mark and the write was refused (or the
        /// wait for room ran out). Nothing was queued.
        public static let backPressure = Code(.backPressure)
        /// Redis failed or timed out. For an enqueue, the write may or may not have been queued:
        /// retrying is safe because the worker applies by version.
        public static let redisUnavailable = Code(.redisUnavailable)
        /// A stream entry lacks a field or carries an unreadable version.
        public static let malformedEntry = Code(.malformedEntry)
        /// A value could not be encoded with its namespace's codec.
        public static let encodingFailed = Code(.encodingFailed)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation without keys, payloads or versions.
    public let message: String
    /// The error that caused this one, if any (for example a `RedisError`).
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return "WriteBehindError(\(code)): \(message)" }
        return "WriteBehindError(\(code)): \(message) [\(underlying)]"
    }

    public var debugDescription: String {
        guard let underlying else { return description }
        return "WriteBehindError(\(code)): \(message) [underlying: \(String(reflecting: underlying))]"
    }
}
