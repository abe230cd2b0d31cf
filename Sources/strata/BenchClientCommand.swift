import ArgumentParser
import Foundation
import Redis
import RedisServerHarness

/// `strata bench client`: the client against `redis-benchmark` on the same server, same run.
struct BenchClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "GET/SET throughput, latency and client CPU per op: Strata's client vs redis-benchmark."
    )

    @Option(help: "Use this server (redis://host:port) instead of starting a private redis-server.")
    var redis: String?

    @Option(help: "Concurrent tasks (and redis-benchmark connections) for the concurrent scenarios.")
    var clients = 50

    @Option(help: "Commands per explicit pipeline (and redis-benchmark -P) in the pipelined scenario.")
    var pipeline = 16

    @Option(help: "Requests per command in the concurrent scenario; the others scale from it.")
    var requests = 200_000

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let server: RedisServer?
        let endpoint: RedisEndpoint
        if let redis {
            guard let configuration = RedisConnectionConfiguration(url: redis) else {
                throw ValidationError("--redis must look like redis://host:port")
            }
            endpoint = configuration.endpoint
            server = nil
        } else {
            let started = try await RedisServer.start(.init(enableDebugCommand: false))
            endpoint = RedisEndpoint(host: started.host, port: started.port)
            server = started
        }
        let benchmark = ClientBenchmark(
            endpoint: endpoint, clients: clients, pipelineDepth: pipeline, requests: requests,
            progress: json ? { _ in } : { print($0) }
        )
        let report: ClientBenchmark.Report
        do {
            report = try await benchmark.run()
        } catch {
            await server?.stop()
            throw error
        }
        await server?.stop()
        print(json ? report.json() : report.table())
    }
}
