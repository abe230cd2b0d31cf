import Strata

/// The scenarios, each comparing naive cache-aside with Strata on the same workload and seed.
enum DemoScenarios {
    static let zipfExponent = 0.9

    /// Strata's production configuration for the catalogue.
    static func productionOptions() -> CacheEntryOptions {
        var options = CacheEntryOptions(
            freshFor: .seconds(60),
            staleness: .init(whileRevalidate: .seconds(10), ifError: .seconds(600), failSafeThrottle: .seconds(5)),
            refresh: .init(beta: 1),
            timeouts: .init(soft: .milliseconds(100), hard: .seconds(2)))
        options.expiration.memoryFreshFor = .seconds(10)
        options.expiration.jitter = .seconds(6)
        return options
    }

    /// The comparison most scenarios make: naive cache-aside with a 60 s TTL against Strata's
    /// production options with a 5,000-entry in-process tier per instance.
    static var naiveAndProduction: [DemoEnvironment.Setup] {
        [
            .naive(timeToLive: .seconds(60)),
            .strata(label: "strata", options: productionOptions(), memoryEntries: 5_000),
        ]
    }

    /// Zipf-distributed reads over the whole catalogue at 40 requests per second per user.
    static func catalogueReads(_ configuration: DemoConfiguration, usersPerInstance: Int, duration: Duration) -> WorkloadSpec {
        WorkloadSpec(
            usersPerInstance: usersPerInstance, requestsPerUserPerSecond: 40, duration: duration, writeShare: 0,
            keys: .zipf(ZipfDistribution(count: configuration.catalogRows, exponent: zipfExponent)), seed: configuration.seed)
    }

    static func steadyState(_ environment: DemoEnvironment, progress: DemoProgress) async throws -> ScenarioReport {
        let configuration = environment.configuration
        let spec = catalogueReads(
            configuration, usersPerInstance: configuration.quick ? 8 : 16,
            duration: configuration.duration(full: .seconds(10), quick: .milliseconds(1500)))
        // The requests of this many seconds of the load, sent unpaced before the measured run:
        // enough for the in-process tiers to answer a third or more of the requests.
        let warmUp = configuration.duration(full: .seconds(6), quick: .seconds(3))
        var rows: [ScenarioRow] = []
        var warmUpRequests = 0
        for setup in naiveAndProduction {
            let run = try await run(setup, spec: spec, in: environment, scenario: "steady state", progress: progress, warmUp: warmUp)
            rows.append(ScenarioRow(setup: setup, run: run))
            warmUpRequests = run.warmUpRequests
        }
        let naive = rows[0]
        let strata = rows[1]
        let verdict = "After a warm-up of \(warmUpRequests) requests (\(format(warmUp.cacheSeconds)) s of this load), "
            + "\(percent(strata.memoryHitRatio)) of Strata's requests never left the process; "
            + "p50 \(format(strata.p50Milliseconds)) ms vs \(format(naive.p50Milliseconds)) ms, "
            + "\(format(strata.figures["redis_commands_per_request"] ?? 0)) vs \(format(naive.figures["redis_commands_per_request"] ?? 0)) Redis commands per request, "
            + "source queries \(percent(strata.sourceQueries, of: naive.sourceQueries)) of naive's."
        return ScenarioReport(
            id: "steady_state", title: "1. Steady state",
            question: "Zipf(\(zipfExponent)) reads over \(configuration.catalogRows) products from \(configuration.instances) instances: hit ratio per tier, latency, source load.",
            status: "measured", rows: rows, verdict: verdict)
    }

    static func hotKeyExpiry(_ environment: DemoEnvironment, progress: DemoProgress) async throws -> ScenarioReport {
        let configuration = environment.configuration
        let freshFor = Duration.seconds(1)
        let duration = configuration.duration(full: .seconds(8), quick: .milliseconds(1100))
        let hotID = ZipfDistribution(count: configuration.catalogRows, exponent: zipfExponent).hottestID
        let spec = WorkloadSpec(
            usersPerInstance: 10, requestsPerUserPerSecond: 100, duration: duration, writeShare: 0,
            keys: .single(hotID), seed: configuration.seed)
        var singleFlight = CacheEntryOptions(freshFor: freshFor, refresh: .init(beta: nil))
        singleFlight.tiers = .all
        let xfetch = CacheEntryOptions(freshFor: freshFor, refresh: .init(beta: 1))
        let setups: [DemoEnvironment.Setup] = [
            .naive(timeToLive: freshFor),
            .strata(label: "strata single-flight", options: singleFlight, memoryEntries: 1_000),
            .strata(label: "strata single-flight + XFetch", options: xfetch, memoryEntries: 1_000),
        ]
        // The key is loaded once at the start and again each time it expires, about `freshFor`
        // after each fill.
        let expiries = (duration.cacheSeconds / freshFor.cacheSeconds).rounded(.up)
        var rows: [ScenarioRow] = []
        for setup in setups {
            let run = try await run(setup, spec: spec, in: environment, scenario: "hot-key expiry", progress: progress)
            rows.append(ScenarioRow(setup: setup, run: run, figures: ["loads_per_expiry": Double(run.result.sourceQueries) / expiries]))
        }
        let loads = rows.map { $0.figures["loads_per_expiry"] ?? 0 }
        let verdict = "Source loads per expiry of one hot key (\(configuration.instances) instances, \(configuration.instances * 10 * 100) req/s): "
            + "naive \(format(loads[0])), single-flight \(format(loads[1])), with XFetch \(format(loads[2])); "
            + "p99 \(format(rows[0].p99Milliseconds)) / \(format(rows[1].p99Milliseconds)) / \(format(rows[2].p99Milliseconds)) ms."
        return ScenarioReport(
            id: "hot_key_expiry", title: "2. Hot-key expiry (stampede)",
            question: "One hot key with a 1 s lifetime under constant load: how many callers hit the source each time it expires?",
            status: "measured", rows: rows, verdict: verdict)
    }

    static func concurrentWrites(_ environment: DemoEnvironment, progress: DemoProgress) async throws -> ScenarioReport {
        let configuration = environment.configuration
        let operations = configuration.quick ? 1_200 : 10_000
        let checker = ConsistencyChecker(configuration: .init(operations: operations, instances: configuration.instances))
        let results = try await checker.run(redis: environment.redis, server: environment.ownServer, catalog: environment.catalog, progress: progress)
        let rows = results.map { result in
            ScenarioRow(
                setup: result.name, requests: result.operations, errors: 0, p50Milliseconds: 0, p99Milliseconds: 0,
                maxMilliseconds: 0, sourceQueries: result.loaderCalls, sourceQueriesPerSecond: 0,
                memoryHitRatio: 0, redisHitRatio: result.hitRatio,
                figures: [
                    "stale_reads": Double(result.staleReads), "max_staleness_ms": result.maxStalenessMs,
                    "stale_within_propagation": Double(result.staleWithinPropagation),
                ],
                sourceQPSSeries: [], hitRatioSeries: [])
        }
        let stale = results.map { "\($0.name): \($0.staleReads)" }.joined(separator: ", ")
        return ScenarioReport(
            id: "concurrent_writes", title: "3. Concurrent writes (stale reads)",
            question: "Readers and writers on \(checker.configuration.hotKeys) hot products, loaders delayed up to 20 ms after reading the source: how many reads return a version older than one already acknowledged?",
            status: "measured", rows: rows,
            verdict: "Stale reads out of \(operations) operations each — \(stale). Leases and versioned write-through refuse every fill an invalidation overtook; "
                + "with in-process tiers, a read lags a write only until the invalidation reaches its instance.")
    }

    static func redisOutage(_ environment: DemoEnvironment, progress: DemoProgress) async throws -> ScenarioReport {
        let configuration = environment.configuration
        let outageStart = configuration.duration(full: .seconds(2), quick: .milliseconds(400))
        let outage = configuration.duration(full: .seconds(4), quick: .seconds(1))
        // After the stall, long enough to see the queued requests answered and latency recover.
        let recovery = configuration.duration(full: .seconds(2), quick: .milliseconds(300))
        let spec = catalogueReads(configuration, usersPerInstance: 8, duration: outageStart + outage + recovery)
        let warmUp = configuration.duration(full: .seconds(2), quick: .seconds(1))
        var rows: [ScenarioRow] = []
        for setup in naiveAndProduction {
            let run = try await run(setup, spec: spec, in: environment, scenario: "Redis outage", progress: progress, warmUp: warmUp) {
                try? await Task.sleep(for: outageStart)
                progress.step("  pausing Redis for \(format(outage.cacheSeconds)) s (CLIENT PAUSE)")
                try? await environment.pauseRedis(for: outage)
            }
            rows.append(ScenarioRow(setup: setup, run: run, figures: ["outage_seconds": outage.cacheSeconds]))
        }
        let verdict = "During a \(format(outage.cacheSeconds)) s Redis stall: naive had \(rows[0].errors) failed requests and max latency "
            + "\(format(rows[0].maxMilliseconds)) ms; Strata had \(rows[1].errors) failed requests and max latency \(format(rows[1].maxMilliseconds)) ms."
        return ScenarioReport(
            id: "redis_outage", title: "4. Redis outage",
            question: "Redis stops answering for a few seconds under load: do callers see errors or long waits?",
            status: "measured", rows: rows, verdict: verdict)
    }

    static func coldStart(_ environment: DemoEnvironment, progress: DemoProgress) async throws -> ScenarioReport {
        let configuration = environment.configuration
        let flushAt = configuration.duration(full: .seconds(2), quick: .milliseconds(500))
        // The run lasts at least until the second after the flush has been counted, and longer
        // while the warming setup's nemesis still warms or counts (`Workload.run` waits for it).
        let afterBurst = configuration.duration(full: .seconds(2), quick: .zero)
        let spec = catalogueReads(configuration, usersPerInstance: 8, duration: flushAt + .seconds(1) + afterBurst)
        let warmUp = configuration.duration(full: .seconds(5), quick: .seconds(2))
        let warming = ColdStartWarming(hotKeys: configuration.quick ? 1_000 : 2_000)
        // The warming setup keeps its hot list in database 1, which a Cluster lacks.
        let setups = naiveAndProduction + (environment.redis.isCluster ? [] : [
            .strataWarming(label: "strata + warming", options: productionOptions(), memoryEntries: 5_000, warming: warming),
        ])
        var rows: [ScenarioRow] = []
        for setup in setups {
            let probe = ColdStartProbe()
            let warms = if case .strataWarming = setup { true } else { false }
            let run = try await run(setup, spec: spec, in: environment, scenario: "cold start", progress: progress, warmUp: warmUp, bucket: .milliseconds(500)) {
                try? await Task.sleep(for: flushAt)
                if warms { await warming.publishHotKeys() }
                progress.step("  emptying Redis (as a restart without persistence does)")
                try? await environment.flushCacheData()
                if warms {
                    let started = ContinuousClock.now
                    let queries = environment.catalog.queryCount
                    await warming.rewarmAll()
                    probe.warmed(in: ContinuousClock.now - started, sourceQueries: environment.catalog.queryCount - queries)
                }
                // Traffic flows again: count what reaches the source in the next second.
                let queries = environment.catalog.queryCount
                try? await Task.sleep(for: .seconds(1))
                probe.burst(environment.catalog.queryCount - queries)
            }
            rows.append(ScenarioRow(setup: setup, run: run, figures: probe.figures(run: run, flushAt: flushAt)))
        }
        let peaks = rows.map { $0.figures["peak_source_qps_after_flush"] ?? 0 }
        let burst = rows.map { $0.figures["source_queries_1s_after_flush"] ?? 0 }
        var verdict = "In the second after Redis lost its data, the source got \(format(burst[0])) queries with naive cache-aside "
            + "(peak \(format(peaks[0])) q/s) and \(format(burst[1])) with Strata (peak \(format(peaks[1])) q/s), whose in-process tiers were still warm. "
        if rows.count > 2 {
            let warmSeconds = rows[2].figures["warm_seconds"] ?? 0
            let warmQueries = rows[2].figures["warm_source_queries"] ?? 0
            verdict += "Warming from the published hot list took \(format(warmSeconds)) s (\(format(warmQueries)) source queries, at most \(warming.concurrency) at a time per instance, while traffic waited); "
                + "in the second after traffic resumed the source got \(format(burst[2])) queries."
        } else {
            verdict += "(Warming is not shown on a Cluster: its hot list would live in database 1.)"
        }
        return ScenarioReport(
            id: "cold_start", title: "5. Cold start after a Redis restart",
            question: "Redis comes back empty under load: how hard is the source of truth hit, and how much does warming from the published hot keys save?",
            status: "measured", rows: rows, verdict: verdict)
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        whole == 0 ? "n/a" : "\(format(100 * Double(part) / Double(whole)))%"
    }

    static func percent(_ ratio: Double) -> String { "\(format(100 * ratio))%" }

    static func format(_ value: Double) -> String {
        if value >= 100 { return String(Int(value.rounded())) }
        if value < 1 { return String((value * 100).rounded() / 100) }
        let scaled = (value * 10).rounded() / 10
        return String(scaled)
    }
}

extension DemoEnvironment.Setup {
    var name: String {
        switch self {
        case .naive: "naive cache-aside"
        case .strata(let label, _, _), .strataWarming(let label, _, _, _): label
        }
    }
}
