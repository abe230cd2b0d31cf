import NIOCore
import RESP
import Redis
@testable import StrataOperations
import Testing

/// The pure parts of warm copy and stats: pacing, batch bookkeeping, interval rows.
@Suite("Warm copy and stats logic")
struct OperationsUnitTests {
    @Test func pacerWaitsUntilTheAverageRateIsAtTheLimit() {
        let pacer = Pacer(operationsPerSecond: 1000)
        #expect(pacer.delay(afterCompleting: 500, elapsed: .milliseconds(100)) == .milliseconds(400))
        #expect(pacer.delay(afterCompleting: 500, elapsed: .milliseconds(600)) == .zero)
        #expect(Pacer(operationsPerSecond: nil).delay(afterCompleting: 1_000_000, elapsed: .zero) == .zero)
        #expect(Pacer(operationsPerSecond: 0).operationsPerSecond == nil)
    }

    static func token(_ value: RESPValue) -> RESPToken {
        var buffer = ByteBuffer()
        value.encode(into: &buffer)
        var decoder = RESPTokenDecoder()
        return try! decoder.decode(from: &buffer)!
    }

    @Test func planRestoresLiveKeysWithTheirTTLAndSkipsVanishedOnes() {
        var state = WarmCopyState(source: "a:1/0", target: "b:1/0", match: nil)
        let keys = ["live", "forever", "gone", "raced"].map { ByteBuffer(string: $0) }
        let payload = ByteBuffer(string: "payload")
        let replies: [Result<RESPToken, RedisError>] = [
            .success(Self.token(.integer(1500))), .success(Self.token(.bulkString(payload))),
            .success(Self.token(.integer(-1))), .success(Self.token(.bulkString(payload))),
            .success(Self.token(.integer(-2))), .success(Self.token(.null)),
            .success(Self.token(.integer(800))), .success(Self.token(.null)),
        ]
        let restores = state.plan(keys: keys, replies: replies, replace: true)
        #expect(restores.map { String(buffer: $0.key) } == ["live", "forever"])
        #expect(restores.map(\.timeToLiveMilliseconds) == [1500, 0])
        #expect(restores.map(\.replace) == [true, true])
        #expect(state.scanned == 4)
        #expect(state.skippedExpired == 2)
    }

    @Test func restoreResultsCountCopiesExistingKeysAndFailures() {
        var state = WarmCopyState(source: "a:1/0", target: "b:1/0", match: "user:*")
        state.record(restoreResults: [
            .success(Self.token(.simpleString("OK"))),
            .failure(RedisError(serverMessage: "BUSYKEY Target key name already exists.")),
            .failure(RedisError(serverMessage: "ERR DUMP payload version or checksum are wrong")),
        ])
        state.completeBatch(nextCursor: 42)
        #expect(state.copied == 1)
        #expect(state.skippedExisting == 1)
        #expect(state.failures == ["ERR": 1])
        #expect(state.cursor == 42 && !state.finished && state.batches == 1)
        state.completeBatch(nextCursor: 0)
        #expect(state.finished)
        #expect(!state.isSameCopy(as: WarmCopyState(source: "a:1/0", target: "b:1/0", match: nil)))
    }

    @Test func statsRowsShowCountersPerInterval() {
        var tracker = RedisStatsTracker()
        let first = tracker.record(info: [
            "keyspace_hits": "900", "keyspace_misses": "100", "evicted_keys": "5", "used_memory": "1048576",
            "maxmemory": "0", "mem_fragmentation_ratio": "1.25", "connected_clients": "3", "db0": "keys=10,expires=2,avg_ttl=0",
            "db1": "keys=5,expires=0,avg_ttl=0", "instantaneous_ops_per_sec": "250",
        ])
        #expect(first.hitRatio == 0.9)
        #expect(first.keys == 15)
        #expect(first.evicted == 5)
        let second = tracker.record(info: [
            "keyspace_hits": "930", "keyspace_misses": "110", "evicted_keys": "5", "used_memory": "2097152", "maxmemory": "4194304",
        ])
        #expect(second.hitRatio == 0.75)
        #expect(second.evicted == 0)
        let line = RedisStatsTracker.line(second)
        #expect(line.contains("75.00"))
        #expect(line.contains("2.00 MB / 4.00 MB"))
        #expect(line.count == RedisStatsTracker.header.count)
    }
}
