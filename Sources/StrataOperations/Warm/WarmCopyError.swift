public import Redis

/// Why `strata warm copy` or `strata warm replay` stopped.
///
/// `description` names the code and, for Redis errors, the Redis error's own description; never
/// keys, values or file contents.
public struct WarmCopyError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case resumeFileUnreadable = "resume_file_unreadable"
            case resumeFileMismatch = "resume_file_mismatch"
            case resumeFileUnwritable = "resume_file_unwritable"
            case clusterUnsupported = "cluster_unsupported"
            case sameSourceAndTarget = "same_source_and_target"
            case sampleUnreadable = "sample_unreadable"
            case redis
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The resume file exists but is not a resume file.
        public static let resumeFileUnreadable = Code(.resumeFileUnreadable)
        /// The resume file belongs to another copy (other source, target or pattern).
        public static let resumeFileMismatch = Code(.resumeFileMismatch)
        /// The resume file could not be written; the copy stops rather than lose its place.
        public static let resumeFileUnwritable = Code(.resumeFileUnwritable)
        /// Source or target is a Cluster node: one node's `SCAN` sees only its slots.
        public static let clusterUnsupported = Code(.clusterUnsupported)
        /// Source and target are the same database.
        public static let sameSourceAndTarget = Code(.sameSourceAndTarget)
        /// The replay sample file could not be read.
        public static let sampleUnreadable = Code(.sampleUnreadable)
        /// A Redis command failed; see ``WarmCopyError/underlying``.
        public static let redis = Code(.redis)

        /// A stable name for logs.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A short explanation without user data.
    public var message: String
    /// The Redis error, for ``Code/redis``.
    public var underlying: RedisError?

    /// Creates an error.
    public init(_ code: Code, message: String, underlying: RedisError? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code, the message and the underlying Redis error's description.
    public var description: String {
        "WarmCopyError(\(code): \(message)" + (underlying.map { ", \($0)" } ?? "") + ")"
    }
}
