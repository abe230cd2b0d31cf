import Foundation
import Testing

@testable import StrataDemo

@Suite(.serialized) struct ConsistencyCheckerTests {
    /// The history check itself, on a hand-made history: a read that starts after a write's
    /// acknowledgement and returns an older version is stale, measured from that acknowledgement.
    @Test func theHistoryCheckFlagsExactlyTheReadsThatMissedAnAcknowledgedWrite() {
        let history = History()
        let t0 = ContinuousClock.now
        history.recordWrite(key: 1, version: 2, start: t0, acknowledged: t0.advanced(by: .milliseconds(10)))
        // Started before the acknowledgement: old data is allowed.
        history.recordRead(key: 1, version: 1, start: t0.advanced(by: .milliseconds(5)), end: t0.advanced(by: .milliseconds(30)))
        // Started after it with the new version: fine.
        history.recordRead(key: 1, version: 2, start: t0.advanced(by: .milliseconds(11)), end: t0.advanced(by: .milliseconds(12)))
        // Started after it with the old version: stale by 15 ms.
        history.recordRead(key: 1, version: 1, start: t0.advanced(by: .milliseconds(25)), end: t0.advanced(by: .milliseconds(26)))
        // Another key is unaffected.
        history.recordRead(key: 2, version: 1, start: t0.advanced(by: .milliseconds(25)), end: t0.advanced(by: .milliseconds(26)))
        let verdict = history.check()
        #expect(verdict.staleReads == 1)
        #expect(verdict.maxStaleness == .milliseconds(15))
        #expect(verdict.reads == 4 && verdict.writes == 1)
    }

    /// Against a real Redis with adversarial delays: naive cache-aside serves stale reads; leases
    /// and versioned write-through serve none.
    @Test(.timeLimit(.minutes(3))) func leasesAndVersionedWriteThroughServeNoStaleReadsWhereNaiveDoes() async throws {
        let checker = ConsistencyChecker(configuration: .init(operations: 6_000))
        let report = try await checker.run(redisURL: nil, progress: DemoProgress { _ in })
        let byName = Dictionary(uniqueKeysWithValues: report.strategies.map { ($0.name, $0) })
        let naive = try #require(byName[ConsistencyChecker.Strategy.naive.rawValue])
        let leases = try #require(byName[ConsistencyChecker.Strategy.leases.rawValue])
        let writeThrough = try #require(byName[ConsistencyChecker.Strategy.versionedWriteThrough.rawValue])
        #expect(naive.staleReads > 0)
        #expect(leases.staleReads == 0)
        #expect(writeThrough.staleReads == 0)
        for result in report.strategies { #expect(result.operations >= 5_900) }
        let json = try JSONSerialization.jsonObject(with: Data(try report.renderJSON().utf8)) as? [String: Any]
        let strategies = json?["strategies"] as? [[String: Any]]
        #expect(strategies?.count == 4)
        for key in ["name", "stale_reads", "max_staleness_ms", "loader_calls", "hit_ratio", "operations"] {
            #expect(strategies?.first?[key] != nil, "\(key)")
        }
    }
}
