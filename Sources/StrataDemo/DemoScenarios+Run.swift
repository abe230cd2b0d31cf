import Strata

extension DemoScenarios {
    /// One setup's measured run inside a scenario.
    struct SetupRun {
        var result: WorkloadResult
        var timeline: Timeline
        var redisCommands: Int
    }

    /// Runs `setup` on a freshly emptied Redis: an optional unmeasured warm-up, then the measured
    /// run with `nemesis` alongside.
    static func run(
        _ setup: DemoEnvironment.Setup, spec: WorkloadSpec, in environment: DemoEnvironment, scenario: String,
        progress: DemoProgress, warmUp: Duration? = nil, bucket: Duration = .milliseconds(250),
        nemesis: (@Sendable () async -> Void)? = nil
    ) async throws -> SetupRun {
        try await environment.flushRedis()
        let timeline = Timeline(bucket: bucket)
        let instances = environment.configuration.instances
        return try await environment.withInstances(setup, count: instances, timeline: timeline) { services in
            if let warmUp {
                progress.step("\(scenario): \(setup.name) (warming up for \(format(warmUp.cacheSeconds)) s)")
                var warmSpec = spec
                warmSpec.duration = warmUp
                // A seed far from the measured run's: users' seeds are consecutive, so `seed + 1`
                // would replay the measured sequences and make the run look hotter than it is.
                warmSpec.seed = spec.seed ^ 0x9E37_79B9_7F4A_7C15
                _ = await Workload.run(warmSpec, services: services, catalog: environment.catalog, timeline: timeline)
                timeline.restart()
            }
            progress.step("\(scenario): \(setup.name)")
            let commandsBefore = try await environment.commandsProcessed()
            let result = await Workload.run(spec, services: services, catalog: environment.catalog, timeline: timeline, nemesis: nemesis)
            let commands = try await environment.commandsProcessed() - commandsBefore
            return SetupRun(result: result, timeline: timeline, redisCommands: commands)
        }
    }
}

extension ScenarioRow {
    init(setup: DemoEnvironment.Setup, run: DemoScenarios.SetupRun, figures: [String: Double] = [:]) {
        var figures = figures
        figures["redis_commands_per_request"] = Double(run.redisCommands) / Double(max(1, run.result.requests))
        self.init(setup: setup.name, result: run.result, timeline: run.timeline, figures: figures)
    }
}
