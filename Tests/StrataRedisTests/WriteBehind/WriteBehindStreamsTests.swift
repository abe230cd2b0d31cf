import Testing

@testable import StrataRedis

/// The queue layout every producer and worker must agree on, and settings rejected up front.
@Suite struct WriteBehindStreamsTests {
    @Test func theKeyHashIsFNV1aAndTheSameInEveryProcess() throws {
        // Published FNV-1a 64-bit test vectors: a process-seeded hash would differ per run.
        #expect(WriteBehindStreams.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(WriteBehindStreams.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(WriteBehindStreams.fnv1a("foobar") == 0x8594_4171_f739_67e8)
        let streams = try WriteBehindStreams(prefix: "orders", partitions: 8)
        #expect(streams.partition(forKey: "a") == 4)
    }

    @Test func streamNamesShareAHashTagWithTheirDeadLettersAndParseBack() throws {
        let streams = try WriteBehindStreams(prefix: "orders", partitions: 3)
        #expect(streams.allStreams == ["{orders:0}", "{orders:1}", "{orders:2}"])
        #expect(streams.deadLetterStream(partition: 2) == "{orders:2}:dead")
        #expect(streams.partition(ofStream: "{orders:2}") == 2)
        #expect(streams.partition(ofStream: "{orders:3}") == nil)
        #expect(streams.partition(ofStream: "{other:1}") == nil)
        #expect(streams.partition(ofStream: "{orders:2}:dead") == nil)
    }

    @Test func badLayoutsAreRejected() {
        #expect(throws: WriteBehindError.self) { try WriteBehindStreams(prefix: "a{b}") }
        #expect(throws: WriteBehindError.self) { try WriteBehindStreams(prefix: "") }
        #expect(throws: WriteBehindError.self) { try WriteBehindStreams(partitions: 0) }
        #expect(throws: WriteBehindError.self) { try WriteBehindStreams(partitions: 1025) }
        #expect(throws: WriteBehindError.self) { try WriteBehindStreams(group: "two words") }
    }

    @Test func incoherentWorkerSettingsAreRejected() {
        func rejects(_ change: (inout WriteBehindWorker.Configuration) -> Void) -> Bool {
            var configuration = WriteBehindWorker.Configuration()
            change(&configuration)
            do {
                try configuration.validate()
                return false
            } catch {
                return error.code == .invalidConfiguration
            }
        }
        #expect(throws: Never.self) { try WriteBehindWorker.Configuration().validate() }
        #expect(rejects { $0.maximumDeliveries = 0 })
        #expect(rejects { $0.maximumRetryDelay = .milliseconds(100) })
        #expect(rejects { $0.claimIdle = .milliseconds(10) })
        #expect(rejects { $0.consumerName = "" })
        #expect(rejects { $0.maximumConcurrentApplies = 0 })
    }

    @Test func incoherentQueueSettingsAreRejected() {
        #expect(throws: WriteBehindError.self) { try WriteBehindQueue.Configuration(highWaterMark: 0).validate() }
        #expect(throws: WriteBehindError.self) {
            try WriteBehindQueue.Configuration(whenFull: .wait(upTo: .seconds(-1))).validate()
        }
    }

    @Test func errorDescriptionsNameTheCodeNotTheData() {
        let error = WriteBehindError(.backPressure, "the partition's backlog is at the high-water mark")
        #expect(error.description == "WriteBehindError(backPressure): the partition's backlog is at the high-water mark")
    }
}
