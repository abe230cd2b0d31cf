import Strata

extension DemoScenarios {
    /// One setup's measured run inside a scenario.
    struct SetupRun {
        var result: WorkloadResult
        var timeline: Timeline
        var redisCommands: Int
        /// Requests the unmeasured warm-up sent (all instances).
        var warmUpRequests = 0
    }

    /// How many times the measured run's users a warm-up spreads its requests over. Warm-ups are
    /// unpaced: what fills the caches is the number of requests, not the seconds they take, so
    /// they finish as fast as the source's latency and the CPU allow.
    static let warmUpFanOut = 4

    /// Runs `setup` on a freshly emptied Redis: an optional unmeasured warm-up (the requests the
    /// measured load sends in `warmUp`, sent unpaced), then the measured run with `nemesis` alongside.
    static func run(
        _ setup: DemoEnvironment.Setup, spec: WorkloadSpec, in environment: DemoEnvironment, scenario: String,
        progress: DemoProgress, warmUp: Duration? = nil, bucket: Duration = .milliseconds(250),
        nemesis: (@Sendable () async -> Void)? = nil
    ) async throws -> SetupRun {
        try await environment.flushRedis()
        let timeline = Timeline(bucket: bucket)
        let instances = environment.configuration.instances
        return try await environment.withInstances(setup, count: instances, timeline: timeline) { services in
            var warmUpRequests = 0
            if let warmUp {
                let warmSpec = warmUpSpec(for: spec, lasting: warmUp)
                let requests = warmSpec.usersPerInstance * (warmSpec.requestsPerUser ?? 0) * instances
                progress.step("\(scenario): \(setup.name) (warming up: \(requests) requests, \(format(warmUp.cacheSeconds)) s of this load)")
                warmUpRequests = await Workload.run(warmSpec, services: services, catalog: environment.catalog, timeline: timeline).requests
                timeline.restart()
            }
            progress.step("\(scenario): \(setup.name)")
            let commandsBefore = try await environment.commandsProcessed()
            let result = await Workload.run(spec, services: services, catalog: environment.catalog, timeline: timeline, nemesis: nemesis)
            let commands = try await environment.commandsProcessed() - commandsBefore
            return SetupRun(result: result, timeline: timeline, redisCommands: commands, warmUpRequests: warmUpRequests)
        }
    }

    /// The requests `spec` sends in `duration`, spread over ``warmUpFanOut`` times its users and
    /// sent unpaced.
    static func warmUpSpec(for spec: WorkloadSpec, lasting duration: Duration) -> WorkloadSpec {
        var warmSpec = spec
        let perInstance = Double(spec.usersPerInstance) * spec.requestsPerUserPerSecond * duration.cacheSeconds
        warmSpec.usersPerInstance = spec.usersPerInstance * warmUpFanOut
        warmSpec.requestsPerUser = max(1, Int((perInstance / Double(warmSpec.usersPerInstance)).rounded()))
        // Only a cap: unpaced users finish well before a paced run of the same requests would.
        warmSpec.duration = duration * 3 + .seconds(1)
        // A seed far from the measured run's: users' seeds are consecutive, so `seed + 1` would
        // replay the measured sequences and make the run look hotter than it is.
        warmSpec.seed = spec.seed ^ 0x9E37_79B9_7F4A_7C15
        return warmSpec
    }
}

extension ScenarioRow {
    init(setup: DemoEnvironment.Setup, run: DemoScenarios.SetupRun, figures: [String: Double] = [:]) {
        var figures = figures
        figures["redis_commands_per_request"] = Double(run.redisCommands) / Double(max(1, run.result.requests))
        self.init(setup: setup.name, result: run.result, timeline: run.timeline, figures: figures)
    }
}
