import Foundation
import Synchronization
import Redis
import RedisServerHarness
import Strata
import StrataOperations
import StrataRedis
import Testing

/// Recording reads on one server with `ReadSampleRecorder`, replaying them on another.
@Suite("Warm replay between live servers")
struct WarmReplayLiveTests {
    @Test func readsRecordedThroughTheTierReplayAgainstStagingWithHitRatioAndMissingKeys() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-replay-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withPrivateServer { production in
            try await withPrivateServer { staging in
                // Production: 20 product reads and 10 session reads, every read recorded.
                let recorder = try ReadSampleRecorder(configuration: .init(path: path, oneIn: 1))
                let client = try RedisClient(configuration: production.configuration())
                let tier = try RedisCacheTier(client: client, configuration: .init(operationTimeout: .seconds(5)))
                    .recordingReads(into: recorder)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await client.run() }
                    for index in 0..<20 { _ = try await tier.get("{products:v1:\(index % 10)}") }
                    _ = try await tier.get((0..<10).map { "{sessions:v1:\($0)}" })
                    client.shutdown()
                    try await group.waitForAll()
                }
                try recorder.flush()
                #expect(recorder.recordedLines == 30)

                // Staging holds every product and half the sessions.
                try await withConnection(staging.configuration()) { connection in
                    try await connection.load((0..<10).map { ["SET", "{products:v1:\($0)}", "p"] })
                    try await connection.load((0..<5).map { ["SET", "{sessions:v1:\($0)}", "s"] })
                }
                let progress = ProgressCollector()
                let report = try await WarmReplay.run(
                    sampleFile: path, target: staging.configuration(), options: WarmReplayOptions(rate: 10_000, concurrency: 4)
                ) { progress.add($0) }
                #expect(report.reads == 30)
                #expect(report.hits == 25 && report.misses == 5 && report.errors == 0)
                #expect(report.missingKeys == 5)
                #expect(report.hitRatio == 25.0 / 30.0)
                #expect(report.namespaces["products"] == .init(reads: 20, hits: 20))
                #expect(report.namespaces["sessions"] == .init(reads: 10, hits: 5))
                let p50 = try #require(report.latencyP50Milliseconds)
                let p99 = try #require(report.latencyP99Milliseconds)
                #expect(p50 > 0 && p50 <= p99)
                #expect(progress.last?.completed == 30)
                let decoded = try JSONDecoder().decode(WarmReplayReport.self, from: Data(report.json().utf8))
                #expect(decoded == report)
                #expect(report.text().contains("missing keys (distinct) 5"))
            }
        }
    }

    @Test func aMissingSampleFileIsReportedAsUnreadable() async throws {
        await #expect(throws: WarmCopyError.self) {
            try await WarmReplay.run(
                sampleFile: "/nonexistent/strata.sample",
                target: RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1", port: 1)), options: WarmReplayOptions())
        }
    }

    @Test func sampleLinesParseAndMalformedOnesAreCounted() {
        let sample = ReadSample(text: "products {products:v1:1}\n\nlonely-key\na b c\n")
        #expect(sample.reads == [
            .init(namespace: "products", key: "{products:v1:1}"), .init(namespace: "-", key: "lonely-key"),
        ])
        #expect(sample.malformedLines == 1)
    }
}

/// Collects progress reports from the replay's workers.
final class ProgressCollector: Sendable {
    private let reports = Mutex<[WarmReplayProgress]>([])
    func add(_ report: WarmReplayProgress) { reports.withLock { $0.append(report) } }
    var last: WarmReplayProgress? { reports.withLock { $0.max { $0.completed < $1.completed } } }
}
