import ArgumentParser
import Foundation
import Redis
import StrataOperations

/// `strata doctor`: audits a live Redis against the production checklist.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Audit a live Redis (standalone, Cluster or Sentinel) against the production caching checklist.",
        discussion: """
            Reads INFO, CONFIG GET *, MEMORY STATS/DOCTOR, ACL, SLOWLOG, LATENCY and CLIENT LIST, and samples \
            a bounded number of keys with a throttled SCAN (PTTL + MEMORY USAGE per key). Each finding has a \
            severity (CRIT, WARN, INFO, OK), the numbers it rests on, and what to do.

            A Cluster node is expanded into every node of its cluster; a redis+sentinel:// URL (or --sentinel) \
            audits the service's primary and replicas and the sentinels' quorum.

            Exit status: 0 without CRIT findings, 2 with at least one, 1 when the server cannot be read.

            Examples:
              strata doctor redis://10.0.0.5:6379
              strata doctor redis://:secret@cache.internal:6379 --sample 5000 --json
              strata doctor redis+sentinel://10.0.0.7:26379,10.0.0.8:26379/mymaster
              strata doctor redis://127.0.0.1:6379 --use store
            """
    )

    @Argument(help: "The server: redis://[user:password@]host:port, rediss://… or redis+sentinel://host:port[,host:port]/service.")
    var url = "redis://127.0.0.1:6379"

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Keys to sample (SCAN + PTTL + MEMORY USAGE); 0 skips the sample.")
    var sample = 1000

    @Option(help: "Highest key sampling rate, in keys per second.")
    var sampleRate: Double = 2000

    @Option(help: "What the server is for: cache or store. Changes the verdicts on maxmemory, eviction and persistence.")
    var use: String = "cache"

    @Option(help: "Treat the URL's host as a sentinel and audit this service behind it.")
    var sentinel: String?

    @Flag(help: "Also print the evidence of OK findings.")
    var verbose = false

    func run() async throws {
        guard let target = DoctorTarget(url: url, sentinelService: sentinel) else {
            throw ValidationError("the URL must look like redis://host:port, rediss://host:port or redis+sentinel://host:port/service")
        }
        guard let use = DoctorPolicy.Use(rawValue: use) else { throw ValidationError("--use must be cache or store") }
        guard sample >= 0 else { throw ValidationError("--sample must be 0 or more") }
        let doctor = RedisDoctor(
            target: target, policy: DoctorPolicy(use: use),
            collector: DoctorCollector(options: .init(sampleSize: sample, sampleRate: sampleRate))
        )
        let report: DoctorReport
        do {
            report = try await doctor.run()
        } catch {
            FileHandle.standardError.write(Data("strata doctor: cannot audit \(target.description): \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(json ? report.json() : report.text(verbose: verbose))
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
