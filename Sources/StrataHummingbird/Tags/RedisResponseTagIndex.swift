import NIOCore
public import Redis
import Strata

/// A tag index in Redis: one set per tag (`<prefix>{<tag>}`), shared by every instance.
///
/// Recording runs one script per response: for each tag, `SADD` unless the set is full, and
/// extend the set's expiry to cover the entry's lifetime (sets never outlive their longest
/// entry by more than that). Draining runs `SMEMBERS` and `UNLINK` in one script, so a member
/// added concurrently is never lost. Works with a standalone or Sentinel-managed Redis
/// (`RedisClient`); every call has its own deadline.
public struct RedisResponseTagIndex: ResponseTagIndex {
    /// The client that reaches Redis (it must be running).
    public let client: RedisClient
    /// The prefix of every tag set's key.
    public let keyPrefix: String
    /// The most members one tag set holds.
    public let maximumMembersPerTag: Int
    /// The deadline of each call.
    public let operationTimeout: Duration

    /// Creates an index.
    ///
    /// - Parameters:
    ///   - client: a running client.
    ///   - keyPrefix: prefix of the set keys (default `strata:http-tag:`).
    ///   - maximumMembersPerTag: the bound per tag (default 10,000).
    ///   - operationTimeout: the deadline of each call (default 500 ms).
    public init(
        client: RedisClient, keyPrefix: String = "strata:http-tag:", maximumMembersPerTag: Int = 10_000,
        operationTimeout: Duration = .milliseconds(500)
    ) {
        self.client = client
        self.keyPrefix = keyPrefix
        self.maximumMembersPerTag = max(1, maximumMembersPerTag)
        self.operationTimeout = operationTimeout
    }

    /// `KEYS` = tag sets, `ARGV` = member, lifetime ms, bound. Returns 0 when a set is full
    /// (nothing is added to any set then), 1 otherwise.
    static let recordScript = RedisScript("""
        local bound = tonumber(ARGV[3])
        for i, key in ipairs(KEYS) do
          if redis.call('SISMEMBER', key, ARGV[1]) == 0 and redis.call('SCARD', key) >= bound then return 0 end
        end
        local ttl = tonumber(ARGV[2])
        for i, key in ipairs(KEYS) do
          redis.call('SADD', key, ARGV[1])
          if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
        end
        return 1
        """)

    /// `KEYS[1]` = the tag set. Returns its members and removes it.
    static let drainScript = RedisScript("""
        local members = redis.call('SMEMBERS', KEYS[1])
        redis.call('UNLINK', KEYS[1])
        return members
        """)

    /// The Redis key of a tag's set; the tag is the hash tag, so a set lives in one slot.
    public func key(for tag: String) -> String { "\(keyPrefix){\(tag)}" }

    /// Records `member` under `tags` in one round trip (the sets share no slot guarantee, so
    /// this needs a standalone or Sentinel-managed Redis).
    public func record(member: String, tags: [String], lifetime: Duration) async throws -> Bool {
        guard !tags.isEmpty else { return true }
        let milliseconds = max(1, Int(clamping: lifetime.components.seconds) * 1000 + 1000)
        let reply = try await client.run(
            Self.recordScript, keys: tags.map(key(for:)),
            arguments: [member, milliseconds, maximumMembersPerTag], as: Int.self, timeout: timeout)
        return reply == 1
    }

    /// Removes `tag`'s set and returns its members.
    public func drain(tag: String) async throws -> [String] {
        try await client.run(Self.drainScript, keys: [key(for: tag)], as: [String].self, timeout: timeout)
    }

    private var timeout: TimeAmount {
        .milliseconds(max(1, Int64(operationTimeout.components.seconds) * 1000 + operationTimeout.components.attoseconds / 1_000_000_000_000_000))
    }
}
