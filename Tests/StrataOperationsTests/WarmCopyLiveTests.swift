import Foundation
import NIOCore
import RESP
import Redis
import RedisServerHarness
import StrataOperations
import Testing

/// `WarmCopier` between two real servers.
@Suite("Warm copy between live servers")
struct WarmCopyLiveTests {
    func copy(
        _ source: RedisServer, _ target: RedisServer, _ options: WarmCopyOptions = WarmCopyOptions(batchSize: 64)
    ) async throws -> WarmCopyReport {
        try await WarmCopy.run(from: source.configuration(), to: target.configuration(), options: options)
    }

    func withTwoServers(_ body: (RedisServer, RedisServer) async throws -> Void) async throws {
        try await withPrivateServer { source in
            try await withPrivateServer { target in try await body(source, target) }
        }
    }

    @Test func copiesEveryTypeWithItsTTL() async throws {
        try await withTwoServers { source, target in
            try await withConnection(source.configuration()) { connection in
                try await connection.load((0..<100).map { ["SET", "plain:\($0)", "v\($0)"] })
                try await connection.load((0..<100).map { ["SET", "ttl:\($0)", "v\($0)", "PX", "100000"] })
                try await connection.load((0..<50).map { ["HSET", "hash:\($0)", "a", "1", "b", "\($0)"] })
                try await connection.load((0..<50).map { ["RPUSH", "list:\($0)", "x", "y", "\($0)"] })
            }
            let report = try await copy(source, target)
            #expect(report.state.finished)
            #expect(report.state.copied == 300)
            #expect(report.state.skippedExisting == 0 && report.state.failed == 0)
            try await withConnection(target.configuration()) { connection in
                #expect(try await connection.keyCount() == 300)
                #expect(try await connection.get("plain:7").map { String(buffer: $0) } == "v7")
                #expect(try await connection.send(PTTL("plain:7")) == .noExpiry)
                guard case .expires(let left) = try await connection.send(PTTL("ttl:7")) else {
                    Issue.record("the TTL was not copied")
                    return
                }
                // Copied relative to the read: never longer than it was, and not much shorter.
                #expect(left <= 100_000 && left > 70_000)
                let hash = try await connection.send(RawCommand(["HGET", "hash:9", "b"]))
                #expect(try String(fromRESP: hash) == "9")
                #expect(try Int(fromRESP: try await connection.send(RawCommand(["LLEN", "list:3"]))) == 3)
            }
        }
    }

    @Test func copiesOnlyKeysMatchingThePattern() async throws {
        try await withTwoServers { source, target in
            try await withConnection(source.configuration()) { connection in
                try await connection.load((0..<40).map { ["SET", "user:\($0)", "u"] } + (0..<60).map { ["SET", "session:\($0)", "s"] })
            }
            let report = try await copy(source, target, WarmCopyOptions(match: "user:*", batchSize: 16))
            #expect(report.state.copied == 40)
            try await withConnection(target.configuration()) { connection in
                let count = try await connection.keyCount()
                let sessions = try await connection.scanAll(match: "session:*")
                #expect(count == 40)
                #expect(sessions.isEmpty)
            }
        }
    }

    @Test func resumesFromTheResumeFileAfterAnInterruption() async throws {
        let resumeFile = FileManager.default.temporaryDirectory.appendingPathComponent("warm-\(UInt32.random(in: 0...UInt32.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: resumeFile) }
        try await withTwoServers { source, target in
            try await withConnection(source.configuration()) { connection in
                try await connection.load((0..<1000).map { ["SET", "item:\($0)", "v"] })
            }
            let interrupted = try await copy(source, target, WarmCopyOptions(batchSize: 50, resumeFile: resumeFile, batchLimit: 3))
            #expect(!interrupted.state.finished)
            #expect(interrupted.state.batches == 3)
            let copiedFirst = try await withConnection(target.configuration()) { try await $0.keyCount() }
            #expect(copiedFirst == interrupted.state.copied)
            #expect(copiedFirst > 0 && copiedFirst < 1000)

            // Another pattern must not reuse this copy's cursor.
            await #expect(throws: WarmCopyError.self) {
                _ = try await copy(source, target, WarmCopyOptions(match: "other:*", resumeFile: resumeFile))
            }

            let resumed = try await copy(source, target, WarmCopyOptions(batchSize: 50, resumeFile: resumeFile))
            #expect(resumed.resumed)
            #expect(resumed.state.finished)
            #expect(resumed.state.batches > 3)
            #expect(resumed.state.copied == 1000)
            #expect(try await withConnection(target.configuration()) { try await $0.keyCount() } == 1000)
        }
    }

    @Test func existingKeysAreSkippedWithoutReplaceAndOverwrittenWithIt() async throws {
        try await withTwoServers { source, target in
            try await withConnection(source.configuration()) { try await $0.load([["SET", "k1", "new"], ["SET", "k2", "new"]]) }
            try await withConnection(target.configuration()) { try await $0.load([["SET", "k1", "old"]]) }
            let kept = try await copy(source, target)
            #expect(kept.state.copied == 1)
            #expect(kept.state.skippedExisting == 1)
            #expect(kept.text().contains("--replace"))
            #expect(try await withConnection(target.configuration()) { try await $0.get("k1") }.map { String(buffer: $0) } == "old")

            let replaced = try await copy(source, target, WarmCopyOptions(replace: true))
            #expect(replaced.state.copied == 2)
            #expect(try await withConnection(target.configuration()) { try await $0.get("k1") }.map { String(buffer: $0) } == "new")
        }
    }

    @Test func binaryKeysArriveByteForByte() async throws {
        try await withTwoServers { source, target in
            let key = ByteBuffer(bytes: [0xFF, 0x00, 0x80, 0x41])
            try await withConnection(source.configuration()) { _ = try await $0.send(BinarySet(key: key, value: ByteBuffer(string: "bin"))) }
            let report = try await copy(source, target)
            #expect(report.state.copied == 1)
            let copied = try await withConnection(target.configuration()) { try await $0.send(BinaryGet(key: key)) }
            #expect(copied.map { String(buffer: $0) } == "bin")
        }
    }

    @Test func refusesClusterNodesAndTheSameDatabase() async throws {
        try await withPrivateServer(["--cluster-enabled", "yes"]) { clusterNode in
            try await withPrivateServer { plain in
                await #expect {
                    _ = try await copy(clusterNode, plain)
                } throws: { ($0 as? WarmCopyError)?.code == .clusterUnsupported }
                await #expect {
                    _ = try await copy(plain, plain)
                } throws: { ($0 as? WarmCopyError)?.code == .sameSourceAndTarget }
            }
        }
    }

    @Test func statsPrintsAHeaderAndOneRowPerReading() async throws {
        try await withPrivateServer { server in
            try await withConnection(server.configuration()) { connection in
                var printed: [String] = []
                try await RedisStatsMonitor(executor: connection, interval: .milliseconds(10), count: 2).run { printed.append($0) }
                #expect(printed.count == 3)
                #expect(printed.first == RedisStatsTracker.header)
                #expect(printed.dropFirst().allSatisfy { $0.contains("/ none") })
            }
        }
    }
}
