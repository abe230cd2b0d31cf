import Redis
import RedisServerHarness
import Synchronization

extension ConsistencyChecker {
    /// The invalidation bus the instances use.
    public enum Bus: String, Sendable, CaseIterable, Codable {
        /// ``RedisInvalidationBus``: numbered pub/sub messages.
        case pubSub = "pubsub"
        /// ``RedisTrackingInvalidationBus``: Redis client tracking in broadcast mode.
        case tracking
    }

    /// A fault the checker's nemesis injects while the readers and writers run.
    public enum NemesisFault: String, Sendable, CaseIterable, Codable {
        /// `CLIENT KILL TYPE normal`: every instance's connections drop mid-command.
        case killConnections = "kill"
        /// `CLIENT PAUSE` for 200 ms: Redis stops answering, then answers everything queued.
        case pause
        /// SIGKILL and start again without persistence: everything in Redis is lost, leases
        /// and version watermarks included (private server only).
        case restart
    }
}

/// Injects the configured faults in turn, one per interval, until the run's budget is spent.
final class Nemesis: Sendable {
    let faults: [ConsistencyChecker.NemesisFault]
    let interval: Duration
    let admin: DemoRedisAdmin
    let server: RedisServer?
    private let count = Atomic<Int>(0)

    init(faults: [ConsistencyChecker.NemesisFault], interval: Duration, admin: DemoRedisAdmin, server: RedisServer?) {
        self.faults = faults
        self.interval = interval
        self.admin = admin
        self.server = server
    }

    /// Faults injected so far.
    var injected: Int { count.load(ordering: .relaxed) }

    func run(until counters: RunCounters) async {
        guard !faults.isEmpty else { return }
        var next = 0
        while !counters.isSpent, !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            if counters.isSpent { return }
            // A fault that fails to inject (Redis still down from the last one) is skipped: the
            // run is about the cache's behaviour, not the nemesis's.
            if (try? await inject(faults[next % faults.count])) != nil {
                count.wrappingAdd(1, ordering: .relaxed)
            }
            next += 1
        }
    }

    private func inject(_ fault: ConsistencyChecker.NemesisFault) async throws {
        switch fault {
        case .killConnections:
            try await admin.killClientConnections()
        case .pause:
            try await admin.pause(for: .milliseconds(200))
        case .restart:
            guard let server else { return }
            await server.kill()
            try await server.restart()
        }
    }
}
