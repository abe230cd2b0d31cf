// Round trips through RedisClient against a private redis-server (started by RedisServerHarness).
//
// Every benchmark gets its own server and client: its setup starts the server, creates the client,
// runs the client's `run()` in a background task and stores a key; its teardown shuts the client
// down, waits for `run()` to return, and stops the server. The comparison with `redis-benchmark`
// on the same server lives in `strata bench client`; these numbers are for tracking changes.

import Benchmark
import Glibc
import NIOCore
import Redis
import RedisServerHarness
import Synchronization

/// This process's CPU time (all threads: the benchmark's tasks and the NIO event loops; not the
/// server's) per measured iteration, read with `CLOCK_PROCESS_CPUTIME_ID`. On a shared machine it
/// drifts less than wall clock. (package-benchmark's own `cpuTotal` counts in 10 ms ticks, too
/// coarse for one round trip, and in a trial run reading it added ~15 mallocs to every measured
/// iteration.)
let processCPU = BenchmarkMetric.custom("CPU time, client process (ns)", polarity: .prefersSmaller, useScalingFactor: true)

/// Wall clock, throughput, client CPU time and malloc counts. The malloc counts are process-wide:
/// they include the event loop threads' work. (The retain/release and object allocation counters
/// crash on Swift 6.3.)
let clientMetrics: [BenchmarkMetric] = [.wallClock, .throughput, processCPU, .mallocCountTotal]

/// The process's CPU time so far, in nanoseconds.
func processCPUNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}

/// The key every GET reads; set to `xxx` in setup, so each GET returns `$3\r\nxxx\r\n`.
let benchmarkKey = "bench:key"

/// One benchmark's server, client and the task running the client.
final class ClientFixture: Sendable {
    private struct Running: Sendable {
        var server: RedisServer
        var client: RedisClient
        var runTask: Task<Void, any Error>
    }

    private let running = Mutex<Running?>(nil)

    /// Starts a server and a client connected to it; returns the client.
    func start() async throws -> RedisClient {
        let server = try await RedisServer.start()
        let client: RedisClient
        do {
            client = try RedisClient(
                configuration: RedisConnectionConfiguration(
                    endpoint: RedisEndpoint(host: server.host, port: server.port), commandTimeout: .seconds(30)
                )
            )
        } catch {
            await server.stop()
            throw error
        }
        let runTask = Task { try await client.run() }
        running.withLock { $0 = Running(server: server, client: client, runTask: runTask) }
        // The first command also waits for the pool's first connection.
        try await client.set(benchmarkKey, to: "xxx")
        return client
    }

    /// Shuts the client down, waits for its `run()` to return, and stops the server. Idempotent.
    func stop() async {
        guard let current = running.withLock({ value -> Running? in
            defer { value = nil }
            return value
        }) else { return }
        current.client.shutdown()
        _ = try? await current.runTask.value
        await current.server.stop()
    }
}

/// Registers a benchmark that runs `body` once per measured iteration against its own server.
func clientBenchmark(
    _ name: String,
    scalingFactor: BenchmarkScalingFactor = .one,
    warmupIterations: Int,
    _ body: @escaping @Sendable (RedisClient, Benchmark) async throws -> Void
) {
    let fixture = ClientFixture()
    Benchmark(
        name,
        configuration: .init(
            metrics: clientMetrics, warmupIterations: warmupIterations, scalingFactor: scalingFactor,
            maxDuration: .seconds(3), maxIterations: 1_000_000
        )
    ) { benchmark, client in
        let cpuBefore = processCPUNanoseconds()
        try await body(client, benchmark)
        benchmark.measurement(processCPU, processCPUNanoseconds() - cpuBefore)
    } setup: {
        do {
            return try await fixture.start()
        } catch {
            await fixture.stop()
            throw error
        }
    } teardown: {
        await fixture.stop()
    }
}

func benchmarks() {
    // One task, one command in flight: each iteration is one GET round trip, so the wall clock
    // percentiles are the round-trip latency.
    clientBenchmark("GET, 1 task", warmupIterations: 1_000) { client, _ in
        blackHole(try await client.get(benchmarkKey))
    }

    // 50 tasks sharing the client: each iteration starts 50 tasks that each send 20 GETs one after
    // another (1000 GETs, scalingFactor .kilo: figures are per GET).
    clientBenchmark("GET, 50 concurrent tasks", scalingFactor: .kilo, warmupIterations: 5) { client, benchmark in
        let tasks = 50
        let perTask = benchmark.scaledIterations.count / tasks
        try await withThrowingDiscardingTaskGroup { group in
            for _ in 0..<tasks {
                group.addTask {
                    for _ in 0..<perTask {
                        blackHole(try await client.get(benchmarkKey))
                    }
                }
            }
        }
    }

    // One task sending an explicit pipeline: each iteration is one round trip carrying 16 GETs
    // (figures are per pipeline, not per GET).
    let pipeline: [any RedisCommand] = Array(repeating: GET(benchmarkKey), count: 16)
    clientBenchmark("GET, pipeline of 16, 1 task", warmupIterations: 500) { client, _ in
        for result in try await client.pipeline(pipeline) {
            blackHole(try result.get())
        }
    }
}
