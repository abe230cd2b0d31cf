import MetricsTestKit
import Redis
import RedisServerHarness
import StrataRedis
import Testing

/// Write-behind against a real Redis: delivery, acknowledgement, back-pressure, retries and dead
/// letters. Each test has its own server and streams.
@Suite(.serialized, .timeLimit(.minutes(2))) struct WriteBehindLiveTests {
    @Test func queuedWritesAreAppliedInOrderAcknowledgedAndRemoved() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams()
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let worker = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) {
                source.apply($0)
            }
            try await withRunningClient(client) {
                var acknowledged: [String: [Int64]] = [:]
                for version in 1...10 {
                    for key in 0..<20 {
                        try await queue.enqueue(key: "row:\(key)", payload: Array("v\(version)".utf8), version: Int64(version))
                        acknowledged["row:\(key)", default: []].append(Int64(version))
                    }
                }
                try await withWorkers([worker]) { try await waitUntilDrained(queue) }
                // One worker, no failures: every version took effect, in order.
                #expect(source.effects == acknowledged)
                let backlog = try await queue.backlog()
                #expect(backlog.pending == 0 && backlog.deadLetters == 0)
                for stream in streams.allStreams { #expect(try await client.send(XLEN(stream)) == 0) }
            }
        }
    }

    @Test func anEnqueueAtTheHighWaterMarkIsRefusedAndNothingIsQueued() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(client: client, streams: streams, configuration: .init(highWaterMark: 5))
            try await withRunningClient(client) {
                for version in 1...5 { try await queue.enqueue(key: "k", payload: [1], version: Int64(version)) }
                let refused = await #expect(throws: WriteBehindError.self) {
                    try await queue.enqueue(key: "k", payload: [1], version: 6)
                }
                #expect(refused?.code == .backPressure)
                #expect(try await queue.backlog().total == 5)
                let waiting = try WriteBehindQueue(
                    client: client, streams: streams, configuration: .init(highWaterMark: 5, whenFull: .wait(upTo: .milliseconds(60))))
                let timedOut = await #expect(throws: WriteBehindError.self) {
                    try await waiting.enqueue(key: "k", payload: [1], version: 6)
                }
                #expect(timedOut?.code == .backPressure)
                #expect(try await queue.backlog().total == 5)
            }
        }
    }

    @Test func aWaitingEnqueueCompletesOnceAWorkerMakesRoom() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(
                client: client, streams: streams, configuration: .init(highWaterMark: 3, whenFull: .wait(upTo: .seconds(60))))
            let source = VersionedMemorySource()
            let worker = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) {
                source.apply($0)
            }
            try await withRunningClient(client) {
                for version in 1...3 { try await queue.enqueue(key: "k", payload: [1], version: Int64(version)) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await queue.enqueue(key: "k", payload: [1], version: 4) }
                    group.addTask { try await withWorkers([worker]) { try await waitUntil { source.versions["k"] == 4 } } }
                    try await group.waitForAll()
                }
                #expect(source.effects["k"] == [1, 2, 3, 4])
            }
        }
    }

    @Test func aPoisonEntryIsDeadLetteredAfterExactlyMaximumDeliveriesWhileOtherKeysFlow() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let others = 100
            let poison = Array("poison".utf8)
            let worker = try WriteBehindWorker(
                client: client, streams: streams, configuration: testWorkerConfiguration(maximumDeliveries: 3)
            ) { entry in
                guard entry.payload == poison else {
                    source.apply(entry)
                    return
                }
                source.countAttempt(entry)
                // Until every other key's write is applied, the poison entry is not allowed to
                // fail for the last time: if other keys waited behind it, this never ends.
                if entry.deliveryCount == 3 {
                    try await waitUntil { source.versions.count == others }
                }
                throw PoisonError()
            }
            try await withRunningClient(client) {
                let poisoned = try await queue.enqueue(key: "p", payload: poison, version: 1)
                for key in 0..<others { try await queue.enqueue(key: "row:\(key)", payload: [1], version: 1) }
                try await queue.enqueue(key: "p", payload: [2], version: 2)
                try await withWorkers([worker]) { try await waitUntilDrained(queue) }
                #expect(source.attempts(of: poisoned) == 3)
                let letters = try await queue.deadLetters(partition: 0)
                #expect(letters.count == 1)
                #expect(letters.first?.originalID == poisoned.id)
                #expect(letters.first?.deliveryCount == 3)
                #expect(letters.first?.reason == .applyFailed)
                #expect(letters.first?.key == "p" && letters.first?.version == 1 && letters.first?.payload == poison)
                // The key's next write went through once the poison was moved aside.
                #expect(source.effects["p"] == [2])
                #expect(source.versions.count == others + 1)
            }
        }
    }

    @Test func anEntryDeliveredThreeTimesTakesEffectOnce() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 2)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let worker = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) { entry in
                // The write commits, then the first two deliveries fail as if the database's
                // reply was lost: the entry is delivered again although its effect exists.
                source.apply(entry)
                if entry.key == "k", entry.deliveryCount < 3 { throw PoisonError() }
            }
            try await withRunningClient(client) {
                let receipt = try await queue.enqueue(key: "k", payload: [7], version: 1)
                try await withWorkers([worker]) { try await waitUntilDrained(queue) }
                #expect(source.attempts(of: receipt) == 3)
                #expect(source.effects["k"] == [1])
                #expect(try await queue.backlog().deadLetters == 0)
            }
        }
    }

    @Test func malformedEntriesAreMovedAsideAndTheRestIsApplied() async throws {
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let worker = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) {
                source.apply($0)
            }
            try await withRunningClient(client) {
                _ = try await client.send(XADD(streams.stream(partition: 0), fields: [(field: "k", value: "x"), (field: "v", value: "NaN")]))
                try await queue.enqueue(key: "k", payload: [1], version: 1)
                try await withWorkers([worker]) { try await waitUntilDrained(queue) }
                let letters = try await queue.deadLetters(partition: 0)
                #expect(letters.map(\.reason) == [.malformed])
                #expect(source.effects == ["k": [1]])
            }
        }
    }

    @Test func aSlowApplyOnALiveWorkerIsNotTakenOver() async throws {
        // Heartbeats keep a live worker's entries fresh: a second worker sweeping for idle
        // entries never takes over one whose apply outlasts the claim idle time.
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let configuration = testWorkerConfiguration(claimIdle: .seconds(2))
            let started = Counter()
            let slow = try WriteBehindWorker(client: client, streams: streams, configuration: configuration) { entry in
                started.increment()
                try await Task.sleep(for: .seconds(4))
                source.apply(entry)
            }
            let sweeperApplies = Counter()
            let sweeper = try WriteBehindWorker(client: client, streams: streams, configuration: configuration) {
                sweeperApplies.increment()
                source.apply($0)
            }
            try await withRunningClient(client) {
                let receipt = try await queue.enqueue(key: "k", payload: [1], version: 1)
                try await withWorkers([slow]) {
                    try await waitUntil { started.value == 1 }
                    try await withWorkers([sweeper]) { try await waitUntilDrained(queue) }
                }
                #expect(sweeperApplies.value == 0)
                #expect(source.attempts(of: receipt) == 1)
            }
        }
    }

    @Test func metricsCountWhatHappenedAndGaugeTheBacklog() async throws {
        try await RedisServer.withServer(.init()) { server in
            let metrics = TestMetrics()
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 1)
            let queue = try WriteBehindQueue(
                client: client, streams: streams, configuration: .init(highWaterMark: 10, metricsPrefix: "wb", metricsFactory: metrics))
            var configuration = testWorkerConfiguration(maximumDeliveries: 2)
            configuration.metricsPrefix = "wb"
            configuration.metricsFactory = metrics
            let source = VersionedMemorySource()
            let worker = try WriteBehindWorker(client: client, streams: streams, configuration: configuration) { entry in
                if entry.key == "fails" { throw PoisonError() }
                source.apply(entry)
            }
            try await withRunningClient(client) {
                for version in 1...9 { try await queue.enqueue(key: "k", payload: [1], version: Int64(version)) }
                try await queue.enqueue(key: "fails", payload: [1], version: 1)
                _ = try? await queue.enqueue(key: "k", payload: [1], version: 10)  // refused: the partition is full
                try await withWorkers([worker]) {
                    try await waitUntilDrained(queue)
                    // The gauges are sampled every 200 ms: wait for a sample of the empty queue.
                    try await waitUntil {
                        let lag = try? metrics.expectGauge("wb.lag", [("partition", "0")]).lastValue
                        let pending = try? metrics.expectGauge("wb.pending", [("partition", "0")]).lastValue
                        return lag == 0 && pending == 0
                    }
                }
                #expect(try metrics.expectCounter("wb.enqueued").totalValue == 10)
                #expect(try metrics.expectCounter("wb.back_pressure").totalValue == 1)
                #expect(try metrics.expectCounter("wb.applied").totalValue == 9)
                #expect(try metrics.expectCounter("wb.apply_failures").totalValue == 2)
                #expect(try metrics.expectCounter("wb.retries").totalValue == 1)
                #expect(try metrics.expectCounter("wb.dead_lettered", [("reason", "apply-failed")]).totalValue == 1)
            }
        }
    }

    @Test func aWorkerAbandonedInsideApplyIsTakenOverByAnother() async throws {
        // In-process stand-in for a crash: worker A's task is cancelled while its apply is
        // stuck after the source write, so nothing is acknowledged. (The separate-process
        // SIGKILL proof is WriteBehindCrashTests.)
        try await RedisServer.withServer(.init()) { server in
            let client = try writeBehindClient(server)
            let streams = try testStreams(partitions: 2)
            let queue = try WriteBehindQueue(client: client, streams: streams)
            let source = VersionedMemorySource()
            let stuck = Counter()
            let first = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) { entry in
                source.apply(entry)
                if entry.key == "k:3" {
                    stuck.increment()
                    try await Task.sleep(for: .seconds(3600))
                }
            }
            let second = try WriteBehindWorker(client: client, streams: streams, configuration: testWorkerConfiguration()) {
                source.apply($0)
            }
            try await withRunningClient(client) {
                var acknowledged: [String: [Int64]] = [:]
                var stuckWrite: WriteBehindReceipt?
                for version in 1...3 {
                    for key in 0..<10 {
                        let receipt = try await queue.enqueue(key: "k:\(key)", payload: [1], version: Int64(version))
                        if key == 3, version == 1 { stuckWrite = receipt }
                        acknowledged["k:\(key)", default: []].append(Int64(version))
                    }
                }
                // A stuck apply holds back its own key only: every other key is applied.
                try await withWorkers([first]) {
                    try await waitUntil {
                        guard stuck.value > 0 else { return false }
                        return try await queue.backlog().total == 3
                    }
                }
                #expect(source.versions.values.filter { $0 == 3 }.count == 9)
                #expect(try await queue.backlog().pending == 3)
                try await withWorkers([second]) { try await waitUntilDrained(queue) }
                expectNoLossNoDuplicatesInOrder(acknowledged: acknowledged, effects: source.effects, final: source.versions)
                // Taken over: delivered a second time, its effect not repeated, the key moved on.
                #expect(stuckWrite.map(source.attempts(of:)) == 2)
                #expect(source.effects["k:3"] == [1, 2, 3])
            }
        }
    }
}

struct PoisonError: Error {}
