public import Redis
import RESP

/// An efficiency lock for expensive regeneration work (a report, a warm-up batch) on one Redis:
/// `SET resource token NX PX ttl` to take it, a Lua compare-and-delete to release it, so a holder
/// whose lock expired can never release someone else's.
///
/// It is an *efficiency* lock (Kleppmann): it makes duplicate work rare, it does not make it
/// impossible — a paused holder can outlive its TTL. Correctness must come from versions or leases
/// (``RedisCacheTier``'s conditional fills), never from this lock.
public struct RedisRegenerationLock: Sendable {
    /// A held lock.
    public struct Token: Sendable, Hashable {
        /// The locked resource's key.
        public let key: String
        /// The random value only this holder knows.
        public let value: String
    }

    static let releaseScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    private let client: RedisClient
    private let prefix: String

    /// Creates a lock helper; lock keys are `prefix + resource`.
    public init(client: RedisClient, prefix: String = "strata:lock:") {
        self.client = client
        self.prefix = prefix
    }

    /// Takes the lock for `resource` for at most `timeToLive`; `nil` when another holder has it.
    public func acquire(_ resource: String, timeToLive: Duration) async throws(RedisError) -> Token? {
        let token = Token(
            key: prefix + resource,
            value: String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt64.random(in: .min ... .max), radix: 16))
        let milliseconds = max(1, Int(timeToLive.components.seconds * 1000 + timeToLive.components.attoseconds / 1_000_000_000_000_000))
        let acquired = try await client.set(token.key, to: token.value, expiration: .milliseconds(milliseconds), condition: .ifNotExists)
        return acquired ? token : nil
    }

    /// Releases the lock if `token` still holds it; `false` when it had expired (and maybe been
    /// taken by someone else, whose lock stays untouched).
    @discardableResult
    public func release(_ token: Token) async throws(RedisError) -> Bool {
        let reply = try await client.run(Self.releaseScript, keys: [token.key], arguments: [token.value], as: Int.self)
        return reply == 1
    }

    /// Runs `body` while holding the lock for `resource`; returns `nil` without running it when the
    /// lock is held elsewhere. The lock is released however `body` ends.
    public func withLock<Result: Sendable>(
        _ resource: String, timeToLive: Duration, _ body: () async throws -> Result
    ) async throws -> Result? {
        guard let token = try await acquire(resource, timeToLive: timeToLive) else { return nil }
        do {
            let result = try await body()
            try await release(token)
            return result
        } catch {
            _ = try? await release(token)
            throw error
        }
    }
}
