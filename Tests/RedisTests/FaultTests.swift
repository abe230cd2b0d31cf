import NIOCore
import Redis
import RedisServerHarness
import Synchronization
import Testing

@Suite("Faults: a server that dies, comes back, or moves")
struct FaultTests {
    /// Short backoff and breaker windows so recovery is quick in tests.
    private let fastRecovery = RedisPoolConfiguration(
        minimumConnections: 1, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200),
        breakerFailureThreshold: 3, breakerOpenDuration: .milliseconds(300), maintenanceInterval: .milliseconds(20)
    )

    @Test("killing the server fails in-flight commands fast; the client reconnects when it is back")
    func serverKilledMidTraffic() async throws {
        try await RedisServer.withServer { server in
            let settings = configuration(for: server, commandTimeout: .seconds(10))
            try await withClient(settings, pool: fastRecovery) { client in
                try await client.set("k", to: "v")
                let failuresAfterKill = Locked<[Duration]>([])
                let killedAt = Locked<ContinuousClock.Instant?>(nil)
                let stop = Locked(false)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            while !stop.value {
                                do {
                                    _ = try await client.get("k")
                                } catch {
                                    if let at = killedAt.withLock({ $0 }) {
                                        failuresAfterKill.withLock { $0.append(ContinuousClock.now - at) }
                                    }
                                    try await Task.sleep(for: .milliseconds(5))
                                }
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    killedAt.withLock { $0 = ContinuousClock.now }
                    await server.kill()
                    try await Task.sleep(for: .milliseconds(500))
                    stop.value = true
                    try await group.waitForAll()
                }
                let failures = failuresAfterKill.withLock { $0 }
                #expect(!failures.isEmpty)
                // In-flight commands fail on the broken connection, not at their 10 s deadline.
                #expect(failures.min()! < .seconds(2))
                #expect(failures.max()! < .seconds(5))

                try await server.restart()
                let recovered = await eventually(timeout: .seconds(10)) { (try? await client.ping()) == "PONG" }
                #expect(recovered)
            }
        }
    }

    @Test("while the server stays down, the breaker opens and commands fail fast")
    func breakerFailsFastWhileDown() async throws {
        try await RedisServer.withServer { server in
            try await withClient(configuration(for: server), pool: fastRecovery) { client in
                try await client.ping()
                await server.kill()
                let sawOpenBreaker = await eventually(timeout: .seconds(5)) {
                    do throws(RedisError) {
                        try await client.ping()
                        return false
                    } catch {
                        return error.code == .circuitOpen
                    }
                }
                #expect(sawOpenBreaker)
                let clock = ContinuousClock()
                let started = clock.now
                await #expect(throws: RedisError.self) { try await client.ping() }
                #expect(clock.now - started < .seconds(1))
                try await server.restart()
                #expect(await eventually(timeout: .seconds(10)) { (try? await client.ping()) == "PONG" })
            }
        }
    }

    @Test("a server restarted on another port is reached after reconfiguration")
    func reconfigureToNewPort() async throws {
        try await RedisServer.withServer { server in
            try await withClient(configuration(for: server), pool: fastRecovery) { client in
                try await client.set("k", to: "before")
                await server.kill()
                let newPort = try RedisServer.freePort()
                try await server.restart(onPort: newPort)
                try client.reconfigure(configuration(for: server))
                #expect(client.configuration.endpoint.port == newPort)
                #expect(await eventually(timeout: .seconds(10)) { (try? await client.ping()) == "PONG" })
                try await client.set("k", to: "after")
                #expect(try await client.get("k")?.text == "after")
            }
        }
    }

    @Test("graceful shutdown lets in-flight commands finish, then refuses new ones")
    func gracefulShutdownDrains() async throws {
        let server = try await blockingServer()
        let client = try RedisClient(configuration: configuration(for: server))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await client.ping()
            let slow = Task { try await client.send(RawCommand(["DEBUG", "SLEEP", "0.2"])) }
            try await Task.sleep(for: .milliseconds(50))
            client.shutdown()
            _ = try await slow.value  // completes despite the shutdown
            do throws(RedisError) {
                try await client.ping()
                Issue.record("commands after shutdown must fail")
            } catch {
                #expect(error.code == .shutdown)
            }
            try await group.waitForAll()  // run() returns once the drained connection closed
        }
    }
}
