import Synchronization

/// The offered load of one run: who asks for what, how often, for how long.
struct WorkloadSpec: Sendable {
    /// Concurrent users per application instance.
    var usersPerInstance: Int
    /// Requests per second each user sends (open loop: a slow answer does not slow the schedule
    /// beyond that user's own wait, as with real browsers behind a load balancer).
    var requestsPerUserPerSecond: Double
    /// How long the run lasts.
    var duration: Duration
    /// The share of requests that are writes (price changes).
    var writeShare: Double
    /// Which product each request asks for.
    var keys: KeyChoice
    /// The seed of every user's random sequence.
    var seed: UInt64
    /// When set, each user sends exactly this many requests back to back, unpaced, and `duration`
    /// only caps the run. Warm-ups use it: what fills the caches is the number of requests, not
    /// the seconds they are spread over.
    var requestsPerUser: Int?

    enum KeyChoice: Sendable {
        case zipf(ZipfDistribution)
        case single(Int)
    }
}

/// What a run measured.
struct WorkloadResult: Sendable {
    var requests = 0
    var errors = 0
    var latencies = LatencySamples()
    var sourceQueries = 0
    var elapsed: Duration = .zero

    mutating func merge(_ other: WorkloadResult) {
        requests += other.requests
        errors += other.errors
        latencies.merge(other.latencies)
    }
}

enum Workload {
    /// Runs `spec` against every service (one per application instance) and, concurrently,
    /// `nemesis` (faults on a schedule). Returns when the duration has passed, the nemesis has
    /// returned (users keep their schedule until then, so a nemesis that measures the aftermath of
    /// its fault never outlives the load it measures) and every user stopped.
    static func run(
        _ spec: WorkloadSpec, services: [any ProductService], catalog: ProductCatalog, timeline: Timeline,
        nemesis: (@Sendable () async -> Void)? = nil
    ) async -> WorkloadResult {
        catalog.attach(timeline)
        defer { catalog.attach(nil) }
        let queriesBefore = catalog.queryCount
        let start = ContinuousClock.now
        let deadline = start.advanced(by: spec.duration)
        let schedule = UserSchedule(deadline: deadline, nemesisRunning: nemesis != nil)
        var total = await withTaskGroup(of: WorkloadResult.self) { group in
            if let nemesis {
                group.addTask {
                    await nemesis()
                    schedule.nemesisEnded()
                    return WorkloadResult()
                }
            }
            for (instance, service) in services.enumerated() {
                for user in 0..<spec.usersPerInstance {
                    let seed = spec.seed &+ UInt64(instance * 10_007 + user)
                    group.addTask { await runUser(spec, service: service, seed: seed, schedule: schedule, timeline: timeline) }
                }
            }
            var total = WorkloadResult()
            for await result in group { total.merge(result) }
            return total
        }
        total.elapsed = ContinuousClock.now - start
        total.sourceQueries = catalog.queryCount - queriesBefore
        return total
    }

    /// When users stop: at the deadline, or later while the nemesis still runs.
    private final class UserSchedule: Sendable {
        let deadline: ContinuousClock.Instant
        private let nemesisRunning: Atomic<Bool>

        init(deadline: ContinuousClock.Instant, nemesisRunning: Bool) {
            self.deadline = deadline
            self.nemesisRunning = Atomic(nemesisRunning)
        }

        func nemesisEnded() { nemesisRunning.store(false, ordering: .relaxed) }

        func continues(at instant: ContinuousClock.Instant) -> Bool {
            (instant < deadline || nemesisRunning.load(ordering: .relaxed)) && !Task.isCancelled
        }
    }

    private static func runUser(
        _ spec: WorkloadSpec, service: any ProductService, seed: UInt64, schedule: UserSchedule,
        timeline: Timeline
    ) async -> WorkloadResult {
        var random = SeededRandom(seed: seed)
        var result = WorkloadResult()
        let interval = Duration.seconds(1 / spec.requestsPerUserPerSecond)
        // Paced users start spread over one interval so they do not arrive in lockstep.
        let offset = random.unit()
        if let budget = spec.requestsPerUser {
            while result.requests < budget, ContinuousClock.now < schedule.deadline, !Task.isCancelled {
                await request(spec, service: service, random: &random, timeline: timeline, into: &result)
            }
            return result
        }
        var next = ContinuousClock.now.advanced(by: interval * offset)
        while schedule.continues(at: next) {
            try? await Task.sleep(until: next, clock: .continuous)
            await request(spec, service: service, random: &random, timeline: timeline, into: &result)
            next = max(next.advanced(by: interval), ContinuousClock.now.advanced(by: interval / 4))
        }
        return result
    }

    private static func request(
        _ spec: WorkloadSpec, service: any ProductService, random: inout SeededRandom, timeline: Timeline,
        into result: inout WorkloadResult
    ) async {
        let id: Int = switch spec.keys {
        case .zipf(let zipf): zipf.next(using: &random)
        case .single(let id): id
        }
        let isWrite = random.unit() < spec.writeShare
        let started = ContinuousClock.now
        do {
            if isWrite {
                try await service.updatePrice(id: id, priceCents: Int(random.next() % 100_000))
            } else {
                _ = try await service.product(id: id)
            }
        } catch {
            result.errors += 1
            timeline.record(.error)
        }
        timeline.record(.request)
        result.requests += 1
        result.latencies.record(ContinuousClock.now - started)
    }
}
