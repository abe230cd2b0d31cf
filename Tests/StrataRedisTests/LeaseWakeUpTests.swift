import Redis
import RedisServerHarness
import Strata
import Synchronization
import Testing

@testable import StrataRedis

/// Lease waiters are woken as soon as the lease can no longer produce a fill, not at its expiry.
@Suite(.serialized) struct LeaseWakeUpTests {
    /// Runs `body` with two tiers over `server` (as two instances would have), each delivering
    /// its fill notifications.
    func withTiers(
        on server: RedisServer, _ body: @Sendable (RedisCacheTier, RedisCacheTier) async throws -> Void
    ) async throws {
        let endpoint = RedisEndpoint(host: server.host, port: server.port)
        let clients = try (0..<2).map { _ in
            try RedisClient(configuration: RedisConnectionConfiguration(endpoint: endpoint, commandTimeout: .seconds(5)))
        }
        let tiers = try clients.map { try RedisCacheTier(client: $0, configuration: .init(operationTimeout: .seconds(5))) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.run() } }
            for tier in tiers { group.addTask { try await tier.runFillNotifications() } }
            defer {
                for client in clients { client.shutdown() }
                group.cancelAll()
            }
            // Let the subscriptions establish.
            try await Task.sleep(for: .milliseconds(200))
            try await body(tiers[0], tiers[1])
        }
    }

    @Test(.timeLimit(.minutes(1))) func anInvalidationThatDeletesALeaseWakesItsWaiters() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTiers(on: server) { holder, waiter in
                let key = "{lease-wake}"
                #expect(try await holder.acquireLease(key, token: "a", leaseTime: .seconds(60), forRefresh: false) == .granted)
                let acquisition = try await waiter.acquireLease(key, token: "b", leaseTime: .seconds(60), forRefresh: false)
                guard case .heldByAnother = acquisition else {
                    Issue.record("the second caller should find the lease held")
                    return
                }
                let started = ContinuousClock.now
                async let waited: Void = waiter.waitForFill(key, timeout: .seconds(40))
                try await Task.sleep(for: .milliseconds(100))
                try await holder.invalidate(key, version: nil)
                await waited
                // Far below the 40 s the wait would otherwise last (and the 60 s lease).
                let elapsed = ContinuousClock.now - started
                #expect(elapsed < .seconds(20))
                #expect(try await waiter.acquireLease(key, token: "b", leaseTime: .seconds(60), forRefresh: false) == .granted)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFillRefusedAsOlderReleasesItsLeaseAndWakesWaiters() async throws {
        try await RedisServer.withServer(.init()) { server in
            try await withTiers(on: server) { holder, waiter in
                let key = "{lease-refused}"
                #expect(try await holder.acquireLease(key, token: "a", leaseTime: .seconds(60), forRefresh: false) == .granted)
                let started = ContinuousClock.now
                async let waited: Void = waiter.waitForFill(key, timeout: .seconds(40))
                try await Task.sleep(for: .milliseconds(100))
                // A newer version lands by a plain versioned write; the lease holder's older fill is refused.
                #expect(try await waiter.fill(key, value: [2], timeToLive: .seconds(60), version: 2, leaseToken: nil) == .stored)
                #expect(try await holder.fill(key, value: [1], timeToLive: .seconds(60), version: 1, leaseToken: "a") == .olderThanStored)
                await waited
                #expect(ContinuousClock.now - started < .seconds(20))
                // The lease is gone: the next miss may take it at once.
                try await holder.remove([key])
                #expect(try await waiter.acquireLease(key, token: "b", leaseTime: .seconds(60), forRefresh: false) == .granted)
            }
        }
    }
}

/// The waiting side alone: a notice that arrives just before its waiter starts waiting still counts.
@Suite struct FillWaitersTests {
    /// A clock the test moves.
    final class TestClock: Sendable {
        let origin = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        var now: ContinuousClock.Instant { origin.advanced(by: offset.withLock { $0 }) }
        func advance(by duration: Duration) { offset.withLock { $0 += duration } }
    }

    @Test(.timeLimit(.minutes(1))) func aNoticeJustBeforeTheWaitEndsItAtOnceButOnlyOnce() async {
        let clock = TestClock()
        let waiters = FillWaiters(now: { clock.now })
        waiters.wake("k")
        clock.advance(by: .milliseconds(100))
        // Returns at once instead of after 40 s.
        let first = ContinuousClock.now
        await waiters.wait(for: "k", timeout: .seconds(40))
        #expect(ContinuousClock.now - first < .seconds(20))
        // Used up: the next wait lasts its (short) timeout.
        let started = ContinuousClock.now
        await waiters.wait(for: "k", timeout: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test(.timeLimit(.minutes(1))) func anOldNoticeDoesNotEndAWait() async {
        let clock = TestClock()
        let waiters = FillWaiters(now: { clock.now })
        waiters.wake("k")
        clock.advance(by: FillWaiters.unclaimedWakeLifetime + .milliseconds(1))
        let started = ContinuousClock.now
        await waiters.wait(for: "k", timeout: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test(.timeLimit(.minutes(1))) func aWaiterIsWokenByItsKeyOnly() async {
        let waiters = FillWaiters()
        let started = ContinuousClock.now
        async let waited: Void = waiters.wait(for: "k", timeout: .seconds(40))
        try? await Task.sleep(for: .milliseconds(50))
        waiters.wake("other")
        waiters.wake("k")
        await waited
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
