import NIOCore
import Redis
import RESP
public import Strata

/// Leases and versioned fills on Redis, each one Lua script over keys that share the entry's hash
/// tag (`{k}`, `{k}:lease`, `{k}:ver`, `{k}:wm`), so they work on Redis Cluster too.
extension RedisCacheTier: CoherentCacheTier {
    static let acquireScript = RedisScript(
        """
        if ARGV[3] == '0' then
          local value = redis.call('GET', KEYS[1])
          if value then return {1, value} end
        end
        if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
        return {3, redis.call('PTTL', KEYS[2])}
        """)

    /// ARGV: value, ttl ms, version ('' unknown), lease token ('' none), fill channel. Under a
    /// lease, a stored fill and a fill refused as older both release the lease and wake waiters.
    static let fillScript = RedisScript(
        """
        if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[4] then return 0 end
        local outcome = 1
        if ARGV[3] ~= '' then
          local version = tonumber(ARGV[3])
          local watermark = redis.call('GET', KEYS[4])
          local stored = redis.call('GET', KEYS[2])
          if watermark and tonumber(watermark) > version then
            outcome = -1
          elseif stored and tonumber(stored) > version then
            outcome = -2
          else
            redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
          end
        else
          redis.call('DEL', KEYS[2])
        end
        if outcome == 1 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
        if ARGV[4] ~= '' then
          redis.call('DEL', KEYS[3])
          redis.call('PUBLISH', ARGV[5], KEYS[1])
        end
        return outcome
        """)

    /// ARGV: version ('' none), watermark ttl ms, fill channel. Deleting a lease wakes its waiters:
    /// its holder's fill will be refused, so they should not sit out the lease time.
    static let invalidateScript = RedisScript(
        """
        redis.call('DEL', KEYS[1], KEYS[2])
        if redis.call('DEL', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[3], KEYS[1]) end
        if ARGV[1] ~= '' then
        \(raiseWatermarkLua(key: "KEYS[4]", version: "ARGV[1]", lifetime: "ARGV[2]"))
        end
        return 1
        """)

    /// Raises `{k}:wm` to ARGV[1] unless it is already higher. ARGV: version, lifetime ms.
    static let raiseWatermarkScript = RedisScript(
        """
        \(raiseWatermarkLua(key: "KEYS[1]", version: "ARGV[1]", lifetime: "ARGV[2]"))
        return 1
        """)

    /// Lua that raises the watermark at `key` to `version` (never lowers it) for `lifetime` ms;
    /// the arguments are Lua expressions (`KEYS[n]`, `ARGV[n]`).
    static func raiseWatermarkLua(key: String, version: String, lifetime: String) -> String {
        """
        local watermark = redis.call('GET', \(key))
        if (not watermark) or tonumber(watermark) < tonumber(\(version)) then
          redis.call('SET', \(key), \(version), 'PX', \(lifetime))
        end
        """
    }

    static func entryKeys(_ key: String) -> [String] {
        [key, key + ":ver", key + ":lease", key + ":wm"]
    }

    /// ``acquireScript``: the value if present (unless `forRefresh`), else `SET NX PX` of the lease.
    public func acquireLease(_ key: String, token: String, leaseTime: Duration, forRefresh: Bool) async throws -> LeaseAcquisition {
        let keys = [key, key + ":lease"]
        let arguments: [any RESPArgument & Sendable] = [token, "\(Self.milliseconds(roundingUp: leaseTime))", forRefresh ? "1" : "0"]
        let reply = RESPValue(try await runScript(Self.acquireScript, keys: keys, arguments: arguments))
        guard case .array(let parts) = reply, case .integer(let kind)? = parts.first else {
            throw RedisError(.unexpectedReply, serverMessage: "lease script returned an unexpected shape")
        }
        switch (kind, parts.count > 1 ? parts[1] : nil) {
        case (1, .bulkString(let buffer)?): return .present(Array(buffer.readableBytesView))
        case (2, _): return .granted
        case (3, .integer(let remaining)?): return .heldByAnother(remaining: .milliseconds(max(0, remaining)))
        default: throw RedisError(.unexpectedReply, serverMessage: "lease script returned an unexpected shape")
        }
    }

    /// ``fillScript`` over the entry's keys; wakes waiters in every instance through the fill channel.
    public func fill(_ key: String, value: [UInt8], timeToLive: Duration, version: Int64?, leaseToken: String?) async throws -> FillOutcome {
        let arguments: [any RESPArgument & Sendable] = [
            BulkBytes(value), "\(Self.milliseconds(roundingUp: timeToLive))", version.map { "\($0)" } ?? "",
            leaseToken ?? "", configuration.fillChannel,
        ]
        let reply = RESPValue(try await runScript(Self.fillScript, keys: Self.entryKeys(key), arguments: arguments))
        switch reply {
        case .integer(1): return .stored
        case .integer(0): return .leaseLost
        case .integer(-1): return .olderThanInvalidated
        case .integer(-2): return .olderThanStored
        default: throw RedisError(.unexpectedReply, serverMessage: "fill script returned an unexpected reply")
        }
    }

    /// ``invalidateScript``: deletes value, version and lease (waking the lease's waiters) and
    /// raises the watermark for ``Configuration/watermarkLifetime``.
    public func invalidate(_ key: String, version: Int64?) async throws {
        let arguments: [any RESPArgument & Sendable] = [
            version.map { "\($0)" } ?? "", "\(Self.milliseconds(roundingUp: configuration.watermarkLifetime))",
            configuration.fillChannel,
        ]
        _ = try await runScript(Self.invalidateScript, keys: Self.entryKeys(key), arguments: arguments)
    }

    /// ``raiseWatermarkScript`` on `{k}:wm`, for ``Configuration/watermarkLifetime``.
    public func raiseWatermark(_ key: String, to version: Int64) async throws {
        let arguments: [any RESPArgument & Sendable] = [
            "\(version)", "\(Self.milliseconds(roundingUp: configuration.watermarkLifetime))",
        ]
        _ = try await runScript(Self.raiseWatermarkScript, keys: [Self.entryKeys(key)[3]], arguments: arguments)
    }

    /// Waits for a fill notice for `key` (or one that arrived just before), at most `timeout`.
    public func waitForFill(_ key: String, timeout: Duration) async {
        await fillWaiters.wait(for: key, timeout: timeout)
    }

    /// Subscribes to the fill channel (through one node on a Cluster) and wakes waiters; a gap
    /// in the subscription wakes every waiter, who then read again.
    public func runFillNotifications() async throws {
        let channel: [RedisSubscriptionTarget] = [.channel(configuration.fillChannel)]
        switch backend {
        case .standalone(let client):
            try await client.subscribe(channel) { try await deliverFillNotices($0) }
        case .cluster(let cluster):
            // Fill notices are plain PUBLISHes, which a cluster broadcasts: one node's will do.
            try await cluster.subscribe(channel) { try await deliverFillNotices($0) }
        }
    }

    private func deliverFillNotices(_ subscription: RedisSubscription) async throws {
        for try await event in subscription {
            switch event {
            case .message(let message): fillWaiters.wake(String(buffer: message.payload))
            case .gap: fillWaiters.wakeAll()
            }
        }
    }

    func runScript(_ script: RedisScript, keys: [String], arguments: [any RESPArgument & Sendable]) async throws -> RESPToken {
        switch backend {
        case .standalone(let client): try await client.run(script, keys: keys, arguments: arguments, timeout: timeout)
        case .cluster(let cluster): try await cluster.run(script, keys: keys, arguments: arguments, timeout: timeout)
        }
    }
}
