import RESP

/// Every failure the Redis client reports.
///
/// Match on ``code``. The `description` names the code, the command name and, for server errors,
/// the server's error code word (`WRONGTYPE`, `MOVED`, ...) — never keys, values or the server's
/// full message, since those can carry user data. `debugDescription` adds the server's message.
public struct RedisError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong. New codes may be added in minor releases.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            // Client-side conditions.
            case connectionFailed = "connection_failed"
            case connectionClosed = "connection_closed"
            case timeout
            case cancelled
            case protocolError = "protocol_error"
            case unexpectedReply = "unexpected_reply"
            case circuitOpen = "circuit_open"
            case shutdown
            case authenticationFailed = "authentication_failed"
            case tls
            case noSentinelReachable = "no_sentinel_reachable"
            case sentinelUnknownService = "sentinel_unknown_service"
            case tooManyRedirects = "too_many_redirects"
            // Server error replies, by their first word.
            case err = "ERR"
            case wrongType = "WRONGTYPE"
            case moved = "MOVED"
            case ask = "ASK"
            case noScript = "NOSCRIPT"
            case loading = "LOADING"
            case busy = "BUSY"
            case noAuth = "NOAUTH"
            case wrongPass = "WRONGPASS"
            case noPerm = "NOPERM"
            case readOnly = "READONLY"
            case clusterDown = "CLUSTERDOWN"
            case tryAgain = "TRYAGAIN"
            case crossSlot = "CROSSSLOT"
            case execAbort = "EXECABORT"
            case masterDown = "MASTERDOWN"
            case noReplicas = "NOREPLICAS"
            case oom = "OOM"
            case noProto = "NOPROTO"
            case busyGroup = "BUSYGROUP"
            case otherServerError = "server_error"
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// Could not connect, or the connection handshake failed for a non-auth reason.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection closed (or broke) before the reply arrived.
        public static let connectionClosed = Code(.connectionClosed)
        /// The command's deadline passed. Only this command failed; the connection carries on.
        public static let timeout = Code(.timeout)
        /// The calling task was cancelled. Only this command failed.
        public static let cancelled = Code(.cancelled)
        /// The server sent bytes that are not valid RESP, or exceeded a limit; the connection was closed.
        public static let protocolError = Code(.protocolError)
        /// The reply was valid RESP but not the shape the command expects.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// Connecting failed repeatedly; the pool fails fast until its breaker lets a probe through.
        public static let circuitOpen = Code(.circuitOpen)
        /// The client is shutting down or has shut down.
        public static let shutdown = Code(.shutdown)
        /// The server refused the credentials during the handshake.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// TLS could not be set up.
        public static let tls = Code(.tls)
        /// No configured sentinel answered.
        public static let noSentinelReachable = Code(.noSentinelReachable)
        /// Sentinels answered, but none knows the configured service name.
        public static let sentinelUnknownService = Code(.sentinelUnknownService)
        /// A cluster command was redirected (`MOVED`/`ASK`) more often than the client allows.
        public static let tooManyRedirects = Code(.tooManyRedirects)
        /// `ERR`: a generic server error.
        public static let err = Code(.err)
        /// `WRONGTYPE`: the key holds another type.
        public static let wrongType = Code(.wrongType)
        /// `MOVED`: in a cluster, the slot lives on another node.
        public static let moved = Code(.moved)
        /// `ASK`: in a cluster, the slot is migrating; ask the target once.
        public static let ask = Code(.ask)
        /// `NOSCRIPT`: `EVALSHA` for a script the server does not have.
        public static let noScript = Code(.noScript)
        /// `LOADING`: the server is loading its dataset.
        public static let loading = Code(.loading)
        /// `BUSY`: a script is running.
        public static let busy = Code(.busy)
        /// `NOAUTH`: authentication required.
        public static let noAuth = Code(.noAuth)
        /// `WRONGPASS`: invalid username/password pair.
        public static let wrongPass = Code(.wrongPass)
        /// `NOPERM`: the ACL user may not run this command or touch this key.
        public static let noPerm = Code(.noPerm)
        /// `READONLY`: a write was sent to a replica.
        public static let readOnly = Code(.readOnly)
        /// `CLUSTERDOWN`: the cluster cannot serve the slot.
        public static let clusterDown = Code(.clusterDown)
        /// `TRYAGAIN`: a multi-key command during resharding; retry later.
        public static let tryAgain = Code(.tryAgain)
        /// `CROSSSLOT`: keys of one command hash to different slots.
        public static let crossSlot = Code(.crossSlot)
        /// `EXECABORT`: a transaction was discarded because a queued command failed.
        public static let execAbort = Code(.execAbort)
        /// `MASTERDOWN`: the replica lost its primary.
        public static let masterDown = Code(.masterDown)
        /// `NOREPLICAS`: not enough replicas for a write.
        public static let noReplicas = Code(.noReplicas)
        /// `OOM`: `maxmemory` reached under `noeviction`.
        public static let oom = Code(.oom)
        /// `NOPROTO`: the server does not speak the requested protocol version.
        public static let noProto = Code(.noProto)
        /// `BUSYGROUP`: `XGROUP CREATE` for a consumer group that already exists.
        public static let busyGroup = Code(.busyGroup)
        /// Any other server error reply; see ``RedisError/serverCode``.
        public static let otherServerError = Code(.otherServerError)

        /// A stable name for logs and metric dimensions (server codes keep their upper-case word).
        public var description: String { base.rawValue }

        /// Whether this code came from a server error reply.
        public var isServerError: Bool {
            switch base {
            case .connectionFailed, .connectionClosed, .timeout, .cancelled, .protocolError, .unexpectedReply,
                .circuitOpen, .shutdown, .authenticationFailed, .tls, .noSentinelReachable, .sentinelUnknownService,
                .tooManyRedirects:
                false
            default:
                true
            }
        }

        /// Maps an error reply's first word to a code.
        static func server(prefix: Substring) -> Code {
            guard let base = Base(rawValue: String(prefix)), Code(base).isServerError else { return .otherServerError }
            return Code(base)
        }
    }

    /// What went wrong.
    public var code: Code
    /// The command that failed, such as `GET` (a name, never its arguments).
    public var command: String?
    /// For server errors, the error reply's first word (`ERR`, `WRONGTYPE`, or an unlisted one).
    public var serverCode: String?
    /// For server errors, the full server message. May contain user data; not in `description`.
    public var serverMessage: String?
    /// The lower-level error, if any (an I/O error, a ``RESPParseError``).
    public var underlying: (any Error)?

    /// Creates an error.
    public init(
        _ code: Code, command: String? = nil, serverCode: String? = nil, serverMessage: String? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.command = command
        self.serverCode = serverCode
        self.serverMessage = serverMessage
        self.underlying = underlying
    }

    /// Builds an error from an error reply (`-WRONGTYPE ...` or `!...`).
    public init(serverMessage message: String, command: String? = nil) {
        let prefix = message.prefix { $0 != " " }
        self.init(
            Code.server(prefix: prefix), command: command, serverCode: String(prefix.prefix(32)),
            serverMessage: message
        )
    }

    /// The code, the command name and the server's code word; no keys or values.
    public var description: String {
        var text = "RedisError(\(code)"
        if let command { text += ", command: \(command)" }
        if code == .otherServerError, let serverCode { text += ", server code: \(serverCode.filter(\.isLetter))" }
        if let underlying = underlying as? RESPParseError { text += ", \(underlying.code)" }
        return text + ")"
    }

    /// Everything, including the server's message and the underlying error. May contain user data.
    public var debugDescription: String {
        var text = description
        if let serverMessage { text += " message: \(serverMessage)" }
        if let underlying { text += " underlying: \(String(reflecting: underlying))" }
        return text
    }
}

extension RESPToken {
    /// The error this reply carries, or nil if it is not an error reply.
    func serverError(command: String?) -> RedisError? {
        switch value {
        case .simpleError(let message), .bulkError(let message):
            RedisError(serverMessage: String(buffer: message), command: command)
        default:
            nil
        }
    }
}
