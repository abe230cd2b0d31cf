/// An error of the response cache: configuration, tag index or edge purge.
///
/// `description` names the code and a message that never contains a key, a tag or a URL (they
/// can carry user identifiers); `debugDescription` adds the underlying error.
public struct ResponseCacheError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure; a struct so that new codes are not breaking.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, tagIndexFailed, purgeFailed, purgeQueueFull
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A setting is incoherent.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The tag index could not record or drain a tag.
        public static let tagIndexFailed = Code(.tagIndexFailed)
        /// An edge purge failed after all its attempts.
        public static let purgeFailed = Code(.purgeFailed)
        /// A background purge could not be queued.
        public static let purgeQueueFull = Code(.purgeQueueFull)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// A human-readable explanation without keys, tags or URLs.
    public let message: String
    /// The error that caused this one, if any.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code and the message (never keys, tags or URLs).
    public var description: String { "ResponseCacheError(\(code)): \(message)" }

    /// The description plus the underlying error.
    public var debugDescription: String {
        underlying.map { "\(description) (underlying: \(String(reflecting: $0)))" } ?? description
    }
}
