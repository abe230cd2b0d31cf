import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Auto-pipelining, explicit pipelines, deadlines and cancellation")
struct PipeliningTests {
    @Test("hundreds of concurrent tasks on one connection each get their own reply")
    func concurrentCallersGetTheirOwnReplies() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let connection = try await RedisConnection.connect(configuration: configuration(for: server))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<200 {
                group.addTask {
                    for round in 0..<20 {
                        let value = "\(task)-\(round)"
                        try await connection.set(p + "\(task)", to: value)
                        #expect(try await connection.get(p + "\(task)")?.text == value)
                    }
                }
            }
            try await group.waitForAll()
        }
        await connection.close()
    }

    @Test("an explicit pipeline returns one result per command; a server error fails only its own")
    func explicitPipelineHasPerCommandResults() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            let results = try await client.pipeline([
                SET(p + "a", "1"), INCRBY(p + "a", by: 2), HGET(p + "a", field: "x"), GET(p + "a"), GET(p + "none"),
            ])
            #expect(results.count == 5)
            #expect(try results[1].get().value == .integer(3))
            guard case .failure(let error) = results[2] else {
                Issue.record("HGET on a string should fail")
                return
            }
            #expect(error.code == .wrongType)
            #expect(error.command == "HGET")
            #expect(RESPValue(try results[3].get()) == .bulkString("3"))
            #expect(try results[4].get().value == .null)
        }
    }

    @Test("a command past its deadline fails alone; the connection carries on and discards the late reply")
    func timeoutFailsOnlyThatCommand() async throws {
        let server = try await blockingServer()
        let p = uniquePrefix()
        let connection = try await RedisConnection.connect(configuration: configuration(for: server))
        try await connection.set(p + "k", to: "right")
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: RedisError.self) {
            _ = try await connection.send(RawCommand(["DEBUG", "SLEEP", "4"]), timeout: .milliseconds(50))
        }
        // A 50 ms deadline against a 4 s sleep; loose because the full suite starves two cores.
        #expect(clock.now - started < .milliseconds(3500))
        // Issued while the server still sleeps: its reply comes after the discarded one.
        #expect(try await connection.get(p + "k")?.text == "right")
        #expect(!connection.isClosed)
        await connection.close()
    }

    @Test("a paused server times out writes without breaking the connection")
    func clientPauseTimesOutOnlyPausedCommands() async throws {
        try await RedisServer.withServer { server in
            let p = uniquePrefix()
            let connection = try await RedisConnection.connect(configuration: configuration(for: server))
            let admin = try await RedisConnection.connect(configuration: configuration(for: server))
            _ = try await admin.raw("CLIENT", "PAUSE", "2000", "WRITE")
            do throws(RedisError) {
                _ = try await connection.send(SET(p + "w", "1"), timeout: .milliseconds(60))
                Issue.record("a paused write should time out")
            } catch {
                #expect(error.code == .timeout)
                #expect(error.command == "SET")
            }
            #expect(try await connection.send(SET(p + "w", "2"), timeout: .seconds(5)))
            #expect(try await connection.get(p + "w")?.text == "2")
            await connection.close()
            await admin.close()
        }
    }

    @Test("cancelling a task fails its command at once and leaves others untouched")
    func cancellationFailsOnlyThatCommand() async throws {
        let server = try await blockingServer()
        let p = uniquePrefix()
        let connection = try await RedisConnection.connect(configuration: configuration(for: server))
        try await connection.set(p + "k", to: "v")
        let sleeper = Task {
            try await connection.send(RawCommand(["DEBUG", "SLEEP", "5"]))
        }
        try await Task.sleep(for: .milliseconds(30))
        let bystander = Task { try await connection.get(p + "k") }
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        sleeper.cancel()
        do {
            _ = try await sleeper.value
            Issue.record("expected cancellation")
        } catch let error as RedisError {
            #expect(error.code == .cancelled)
        }
        #expect(clock.now - cancelledAt < .seconds(3))
        #expect(try await bystander.value?.text == "v")
        #expect(try await connection.get(p + "k")?.text == "v")
        await connection.close()
    }

    @Test("an abandoned reply that never arrives marks the connection broken")
    func overdueAbandonedReplyClosesTheConnection() async throws {
        let server = try await blockingServer()
        var settings = configuration(for: server)
        settings.abandonedReplyTimeout = .milliseconds(150)
        let connection = try await RedisConnection.connect(configuration: settings)
        await #expect(throws: RedisError.self) {
            _ = try await connection.send(RawCommand(["DEBUG", "SLEEP", "1"]), timeout: .milliseconds(30))
        }
        #expect(await eventually(timeout: .seconds(3)) { connection.isClosed })
        do throws(RedisError) {
            try await connection.ping()
            Issue.record("a broken connection must refuse commands")
        } catch {
            #expect(error.code == .connectionClosed)
        }
    }
}
