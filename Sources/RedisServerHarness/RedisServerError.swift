/// Why the harness could not start, reach or control a server.
public enum RedisServerError: Error, Sendable, CustomStringConvertible {
    /// A program (`redis-server`, `openssl`, `redis-cli`...) is not on `PATH`.
    case executableNotFound(String)
    /// `posix_spawn` (or preparing for it) failed.
    case spawnFailed(command: String, reason: String)
    /// No port in the harness's range, with its bus port, could be bound.
    case noFreePort
    /// The server exited before it answered `PING`.
    case exitedDuringStartup(port: Int, status: String, logTail: String)
    /// The server did not answer `PING` in time (it has been killed).
    case startupTimedOut(port: Int, timeout: Duration, logTail: String)
    /// A helper tool exited unsuccessfully.
    case toolFailed(command: String, status: String, output: String)
    /// The server is not running (stopped or killed, and not restarted).
    case notRunning
    /// Talking to the server over a raw socket failed.
    case connectionFailed(port: Int, reason: String)
    /// The server's reply could not be parsed by the harness's small RESP reader.
    case protocolError(String)
    /// `shared(named:options:)` was called twice for one name with different options.
    case sharedOptionsMismatch(name: String)
    /// A topology did not reach the expected state in time.
    case topologyNotReady(String)

    /// A human-readable explanation, including the server's log tail where there is one.
    public var description: String {
        switch self {
        case .executableNotFound(let name):
            return "\(name) not found on PATH (install redis-server/redis-tools/openssl)"
        case .spawnFailed(let command, let reason):
            return "could not spawn `\(command)`: \(reason)"
        case .noFreePort:
            return "no free port pair (port and port+10000) in 15000..<22000 on 127.0.0.1"
        case .exitedDuringStartup(let port, let status, let logTail):
            return "redis-server on port \(port) exited during start-up (\(status)); log tail:\n\(logTail)"
        case .startupTimedOut(let port, let timeout, let logTail):
            return "redis-server on port \(port) did not answer PING within \(timeout); log tail:\n\(logTail)"
        case .toolFailed(let command, let status, let output):
            return "`\(command)` failed (\(status)):\n\(output)"
        case .notRunning:
            return "the redis-server is not running"
        case .connectionFailed(let port, let reason):
            return "could not talk to 127.0.0.1:\(port): \(reason)"
        case .protocolError(let detail):
            return "unexpected bytes from the server: \(detail)"
        case .sharedOptionsMismatch(let name):
            return "shared server \"\(name)\" was already started with different options"
        case .topologyNotReady(let detail):
            return "topology not ready: \(detail)"
        }
    }
}
