public import NIOCore
public import RESP

/// A Lua script and its SHA-1, computed locally so it can be run with `EVALSHA` without asking
/// the server first.
///
/// Create scripts once (as `static let`s) and run them with
/// ``RedisCommandExecutor/run(_:keys:arguments:timeout:)``. Keys go in `KEYS` and values in
/// `ARGV`: never build the source from data, or every distinct value becomes a new script in the
/// server's cache.
///
/// ```swift
/// static let compareAndDelete = RedisScript("""
///     if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
///     return 0
///     """)
/// let removed = try await client.run(compareAndDelete, keys: [lockKey], arguments: [token], as: Int.self)
/// ```
public struct RedisScript: Sendable, Hashable, CustomStringConvertible {
    /// The Lua source.
    public let source: String
    /// The SHA-1 of the source as 40 lower-case hex digits: the name `EVALSHA` uses.
    public let sha1: String

    /// Creates a script, computing its digest.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }

    /// The digest only (sources can be long and may embed data).
    public var description: String { "RedisScript(\(sha1))" }
}

extension RedisCommandExecutor {
    /// Runs `script` with `EVALSHA`; if the server does not have it (`NOSCRIPT`: never loaded,
    /// flushed, restarted, or a failover to a server that never saw it), sends it again with
    /// `EVAL`, which runs and caches it.
    ///
    /// The script is never run twice: `NOSCRIPT` means the server did not run it.
    ///
    /// - Parameters:
    ///   - script: the script to run.
    ///   - keys: passed as `KEYS` (and counted in `numkeys`), so clusters and ACLs see them.
    ///   - arguments: passed as `ARGV`.
    ///   - timeout: the deadline of each round trip (a fallback makes two).
    /// - Returns: the script's reply, as is.
    @discardableResult
    public func run(
        _ script: RedisScript, keys: [String] = [], arguments: [any RESPArgument & Sendable] = [],
        timeout: TimeAmount? = nil
    ) async throws(RedisError) -> RESPToken {
        let call = EVALSHA(script, keys: keys, arguments: arguments)
        do {
            return try await send(call, timeout: timeout)
        } catch let error where error.code == .noScript {
            return try await send(call.withSource, timeout: timeout)
        }
    }

    /// Runs `script` like ``run(_:keys:arguments:timeout:)`` and decodes its reply as `T`.
    public func run<T: RESPDecodable>(
        _ script: RedisScript, keys: [String] = [], arguments: [any RESPArgument & Sendable] = [], as type: T.Type,
        timeout: TimeAmount? = nil
    ) async throws(RedisError) -> T {
        let token = try await run(script, keys: keys, arguments: arguments, timeout: timeout)
        do {
            return try T(fromRESP: token)
        } catch {
            throw error.naming(command: EVALSHA.name)
        }
    }

    /// Caches `script` on the server ahead of use (`SCRIPT LOAD`) and returns its digest.
    ///
    /// Optional: ``run(_:keys:arguments:timeout:)`` loads scripts on demand. Loading first is
    /// useful before an explicit pipeline or a transaction, where a fallback would reorder effects.
    @discardableResult
    public func load(_ script: RedisScript, timeout: TimeAmount? = nil) async throws(RedisError) -> String {
        try await send(SCRIPTLOAD(script), timeout: timeout)
    }

    /// Sends `commands` as one pipeline; every ``EVALSHA`` among them that fails with `NOSCRIPT` is
    /// re-sent as ``EVAL`` (in one more round trip) and its result replaced by the retry's.
    ///
    /// The retries run after the whole batch, so commands that followed a retried script in the
    /// batch ran before it. When that order matters, ``load(_:timeout:)`` the scripts first.
    public func pipelineWithScriptFallback(
        _ commands: [any RedisCommand], timeout: TimeAmount? = nil
    ) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        var results = try await pipeline(commands, timeout: timeout)
        var retries: [(index: Int, command: EVAL)] = []
        for (index, result) in results.enumerated() {
            guard case .failure(let error) = result, error.code == .noScript, let call = commands[index] as? EVALSHA
            else { continue }
            retries.append((index, call.withSource))
        }
        guard !retries.isEmpty else { return results }
        let retried = try await pipeline(retries.map(\.command), timeout: timeout)
        for (retry, result) in zip(retries, retried) { results[retry.index] = result }
        return results
    }
}
