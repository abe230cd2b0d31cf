import Synchronization

extension RedisServer {
    private struct SharedEntry {
        var options: Options
        var task: Task<RedisServer, any Error>
    }

    private static let sharedServers = Mutex<[String: SharedEntry]>([:])

    /// A server shared by every caller in this process that asks for the same `name`.
    ///
    /// Started once, lazily, by the first caller (concurrent callers wait for the same start);
    /// it runs until the process exits, when the harness's exit handler kills it. Callers share
    /// its data: give each suite its own key prefix or database (`SELECT n`), and never stop,
    /// kill, pause or restart it. If the start fails, the next call tries again.
    ///
    /// - Throws: ``RedisServerError/sharedOptionsMismatch(name:)`` if `name` was already
    ///   requested with different options, or any error of ``start(_:)``.
    public static func shared(named name: String = "default", options: Options = .init()) async throws -> RedisServer {
        let task = try sharedServers.withLock { servers throws(RedisServerError) in
            if let entry = servers[name] {
                guard entry.options == options else { throw .sharedOptionsMismatch(name: name) }
                return entry.task
            }
            let task = Task { try await RedisServer.start(options) }
            servers[name] = SharedEntry(options: options, task: task)
            return task
        }
        do {
            return try await task.value
        } catch {
            sharedServers.withLock { servers in
                if servers[name]?.task == task { servers[name] = nil }
            }
            throw error
        }
    }
}
