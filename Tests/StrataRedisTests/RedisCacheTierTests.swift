import NIOCore
import Redis
import RedisServerHarness
import Strata
import StrataRedis
import Testing

/// Starts a client for `server`, connects it, hands `body` a tier on it (and the client, for
/// checks the tier does not offer), then shuts the client down and waits for it, however `body`
/// ends. Functional tests get a generous tier deadline: on a loaded machine 250 ms is not enough
/// to be sure, and only the deadline test is about the deadline.
func withTier<T: Sendable>(
    on server: RedisServer, timeout: Duration = .seconds(5),
    _ body: @Sendable (RedisCacheTier, RedisClient) async throws -> T
) async throws -> T {
    let client = try RedisClient(
        configuration: RedisConnectionConfiguration(
            endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(10)))
    let tier = try RedisCacheTier(client: client, configuration: .init(operationTimeout: timeout))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        let outcome: Result<T, any Error>
        do {
            // Connected first, so that a short tier deadline never has to cover connecting.
            try await client.ping()
            outcome = .success(try await body(tier, client))
        } catch {
            outcome = .failure(error)
        }
        // Stopped the way a service stops (shutdown, then run() returns), not by cancellation.
        client.shutdown()
        try await group.waitForAll()
        return try outcome.get()
    }
}

func tierKeyPrefix(_ name: String = #function) -> String {
    "strata-tier:\(name.prefix { $0 != "(" }):\(UInt32.random(in: 0...UInt32.max)):"
}

@Suite struct RedisCacheTierTests {
    private func sharedServer() async throws -> RedisServer {
        try await RedisServer.shared(named: "strata-redis-tier")
    }

    @Test func envelopeBytesRoundTripUnchanged() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await sharedServer()) { tier, _ in
            let envelope = CacheEnvelope(
                codecID: CacheCodecID.binary, createdAt: CacheInstant(millisecondsSinceEpoch: 1),
                freshUntil: CacheInstant(millisecondsSinceEpoch: 2), staleUntil: CacheInstant(millisecondsSinceEpoch: 3),
                tagEpochs: [.init(tag: "t", epoch: 9)], payload: [0, 13, 10, 36, 255] + Array(0...255))
            try await tier.set(prefix + "k", value: envelope.encoded(), timeToLive: .seconds(30))
            let stored = try #require(try await tier.get(prefix + "k"))
            #expect(try CacheEnvelope(decoding: stored) == envelope)
            #expect(try await tier.get(prefix + "missing") == nil)
        }
    }

    @Test func timeToLiveIsSetInMillisecondsRoundedUp() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await sharedServer()) { tier, client in
            try await tier.set(prefix + "long", value: [1], timeToLive: .seconds(10))
            try await tier.set(prefix + "short", value: [1], timeToLive: .microseconds(1_500_400))
            guard case .expires(let long) = try await client.send(PTTL(prefix + "long")),
                case .expires(let short) = try await client.send(PTTL(prefix + "short"))
            else {
                Issue.record("keys have no expiry")
                return
            }
            #expect(long > 9_000 && long <= 10_000)
            #expect(short > 500 && short <= 1_501)
        }
    }

    @Test func aNonPositiveTimeToLiveRemovesTheKey() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await sharedServer()) { tier, _ in
            try await tier.set(prefix + "k", value: [1], timeToLive: .seconds(30))
            try await tier.set(prefix + "k", value: [2], timeToLive: .zero)
            #expect(try await tier.get(prefix + "k") == nil)
        }
    }

    @Test func batchGetKeepsKeyOrderWithNilForMissingKeys() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await sharedServer()) { tier, _ in
            try await tier.set(prefix + "a", value: [0xA], timeToLive: .seconds(30))
            try await tier.set(prefix + "c", value: [0xC], timeToLive: .seconds(30))
            let values = try await tier.get([prefix + "c", prefix + "b", prefix + "a", prefix + "b"])
            #expect(values == [[0xC], nil, [0xA], nil])
            #expect(try await tier.get([String]()).isEmpty)
        }
    }

    @Test func removeUnlinksKeysAndIgnoresMissingOnes() async throws {
        let prefix = tierKeyPrefix()
        try await withTier(on: try await sharedServer()) { tier, _ in
            try await tier.set(prefix + "a", value: [1], timeToLive: .seconds(30))
            try await tier.set(prefix + "b", value: [2], timeToLive: .seconds(30))
            try await tier.remove([prefix + "a", prefix + "missing", prefix + "b"])
            try await tier.remove([])
            #expect(try await tier.get([prefix + "a", prefix + "b"]) == [nil, nil])
        }
    }

    @Test func invalidTimeoutIsRejected() throws {
        let client = try RedisClient(configuration: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1", port: 1)))
        #expect(throws: RedisError.self) { try RedisCacheTier(client: client, configuration: .init(operationTimeout: .zero)) }
    }

    /// The tier's own deadline applies while the server is busy (`DEBUG SLEEP` on a private
    /// server): the call fails long before the server answers again.
    @Test(.timeLimit(.minutes(1))) func aBlockedServerCostsOneDeadlineNotTheWholeBlock() async throws {
        try await RedisServer.withServer(.init(enableDebugCommand: true)) { server in
        try await withTier(on: server, timeout: .milliseconds(250)) { tier, client in
            try await tier.set("k", value: [1], timeToLive: .seconds(60))
            let sleepStarted = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await client.rawValue(["DEBUG", "SLEEP", "4"], timeout: .seconds(20)) }
                // The sleep starts when the server reads it; until then reads may still succeed.
                var failure: (any Error)?
                var elapsed = Duration.zero
                while failure == nil, ContinuousClock.now - sleepStarted < .seconds(3) {
                    let begin = ContinuousClock.now
                    do {
                        _ = try await tier.get("k")
                        try await Task.sleep(for: .milliseconds(10))
                    } catch {
                        failure = error
                        elapsed = ContinuousClock.now - begin
                    }
                }
                let error = try #require(failure as? RedisError)
                #expect(error.code == .timeout)
                // 250 ms deadline against a 4 s block: anything under 3 s proves the deadline.
                #expect(elapsed < .seconds(3))
                try await group.waitForAll()
            }
            #expect(try await tier.get("k") == [1])
        }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aKilledServerMakesCallsThrowInsteadOfHanging() async throws {
        try await RedisServer.withServer(.init(enableDebugCommand: false)) { server in
        try await withTier(on: server, timeout: .milliseconds(250)) { tier, _ in
            try await tier.set("k", value: [1], timeToLive: .seconds(60))
            await server.kill()
            await #expect(throws: RedisError.self) { try await tier.get("k") }
            await #expect(throws: RedisError.self) { try await tier.set("k", value: [2], timeToLive: .seconds(1)) }
            await #expect(throws: RedisError.self) { try await tier.get(["k", "j"]) }
            await #expect(throws: RedisError.self) { try await tier.remove(["k"]) }
        }
        }
    }
}
