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
    /// `nemesis` (faults on a schedule). Returns when the duration has passed and every user stopped.
    static func run(
        _ spec: WorkloadSpec, services: [any ProductService], catalog: ProductCatalog, timeline: Timeline,
        nemesis: (@Sendable () async -> Void)? = nil
    ) async -> WorkloadResult {
        catalog.attach(timeline)
        defer { catalog.attach(nil) }
        let queriesBefore = catalog.queryCount
        let start = ContinuousClock.now
        let deadline = start.advanced(by: spec.duration)
        var total = await withTaskGroup(of: WorkloadResult.self) { group in
            if let nemesis {
                group.addTask {
                    await nemesis()
                    return WorkloadResult()
                }
            }
            for (instance, service) in services.enumerated() {
                for user in 0..<spec.usersPerInstance {
                    let seed = spec.seed &+ UInt64(instance * 10_007 + user)
                    group.addTask { await runUser(spec, service: service, seed: seed, deadline: deadline, timeline: timeline) }
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

    private static func runUser(
        _ spec: WorkloadSpec, service: any ProductService, seed: UInt64, deadline: ContinuousClock.Instant,
        timeline: Timeline
    ) async -> WorkloadResult {
        var random = SeededRandom(seed: seed)
        var result = WorkloadResult()
        let interval = Duration.seconds(1 / spec.requestsPerUserPerSecond)
        // Users start spread over one interval so they do not arrive in lockstep.
        var next = ContinuousClock.now.advanced(by: interval * random.unit())
        while next < deadline, !Task.isCancelled {
            try? await Task.sleep(until: next, clock: .continuous)
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
            next = max(next.advanced(by: interval), ContinuousClock.now.advanced(by: interval / 4))
        }
        return result
    }
}
