import NIOCore
import Redis
import RedisServerHarness
import Testing

@Suite("Sentinel: discovery, errors and failover under load", .serialized)
struct SentinelClientTests {
    private let fastRecovery = RedisPoolConfiguration(
        initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(250), breakerFailureThreshold: 1_000,
        maintenanceInterval: .milliseconds(20)
    )

    private func sentinelConfiguration(_ topology: RedisSentinelTopology, password: String? = nil) -> RedisSentinelConfiguration {
        RedisSentinelConfiguration(
            sentinels: topology.sentinelEndpoints.map { RedisEndpoint(host: $0.host, port: $0.port) },
            serviceName: topology.serviceName, password: password
        )
    }

    private var dataNodes: RedisConnectionConfiguration {
        RedisConnectionConfiguration(endpoint: RedisEndpoint(host: "127.0.0.1", port: 1), commandTimeout: .seconds(2))
    }

    @Test("clients find the primary through sentinels, with separate passwords; bad settings get clear errors")
    func discoveryAndErrors() async throws {
        let options = RedisSentinelTopology.Options(node: .init(password: "data-pw"), sentinelPassword: "sentinel-pw")
        try await RedisSentinelTopology.withTopology(options) { topology in
            var nodes = dataNodes
            nodes.password = "data-pw"
            let client = try RedisClient(
                sentinel: sentinelConfiguration(topology, password: "sentinel-pw"), configuration: nodes, pool: fastRecovery
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                try await client.set("sentinel:k", to: "v")
                #expect(try await client.get("sentinel:k")?.text == "v")
                #expect(client.configuration.endpoint.port == topology.primary.port)
                client.shutdown()
                try await group.waitForAll()
            }

            var unknown = sentinelConfiguration(topology, password: "sentinel-pw")
            unknown.serviceName = "nosuchservice"
            try await withClientExpecting(.sentinelUnknownService, sentinel: unknown, nodes: nodes)

            let nobody = RedisSentinelConfiguration(
                sentinels: [RedisEndpoint(host: "127.0.0.1", port: try RedisServer.freePort())], serviceName: "mymaster"
            )
            try await withClientExpecting(.noSentinelReachable, sentinel: nobody, nodes: nodes)
        }
    }

    private func withClientExpecting(
        _ code: RedisError.Code, sentinel: RedisSentinelConfiguration, nodes: RedisConnectionConfiguration
    ) async throws {
        let client = try RedisClient(sentinel: sentinel, configuration: nodes, pool: fastRecovery)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            do throws(RedisError) {
                try await client.ping()
                Issue.record("expected \(code)")
            } catch {
                #expect(error.code == code)
            }
            client.shutdown()
            try await group.waitForAll()
        }
    }

    @Test("killing the primary under load: writes resume soon after the failover, no call hangs past its deadline")
    func failoverUnderLoad() async throws {
        try await RedisSentinelTopology.withTopology { topology in
            let client = try RedisClient(
                sentinel: sentinelConfiguration(topology), configuration: dataNodes, pool: fastRecovery
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                try await client.set("failover:k", to: "0")
                let lastSuccess = Locked<ContinuousClock.Instant>(.now)
                let longestCall = Locked<Duration>(.zero)
                let killedAt = Locked<ContinuousClock.Instant?>(nil)
                let firstWriteAfterKill = Locked<ContinuousClock.Instant?>(nil)
                let firstFailure = Locked<ContinuousClock.Instant?>(nil)
                let stop = Locked(false)
                try await withThrowingTaskGroup(of: Void.self) { load in
                    for task in 0..<20 {
                        load.addTask {
                            var counter = 0
                            while !stop.value {
                                let started = ContinuousClock.now
                                do {
                                    try await client.set("failover:\(task)", to: counter)
                                    counter += 1
                                    lastSuccess.value = .now
                                    // Recovery: the first write issued after writes started failing.
                                    if let failedAt = firstFailure.value, started > failedAt {
                                        firstWriteAfterKill.withLock { $0 = $0 ?? .now }
                                    }
                                } catch {
                                    if killedAt.value != nil { firstFailure.withLock { $0 = $0 ?? .now } }
                                    try await Task.sleep(for: .milliseconds(10))
                                }
                                let took = ContinuousClock.now - started
                                longestCall.withLock { $0 = max($0, took) }
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    killedAt.value = .now
                    let oldPort = await topology.killPrimary()
                    let newPort = try await topology.waitForFailover(from: oldPort)
                    #expect(newPort != oldPort)
                    #expect(await eventually(timeout: .seconds(15)) { firstWriteAfterKill.value != nil })
                    stop.value = true
                    try await load.waitForAll()
                }
                let recovery = try #require(firstWriteAfterKill.value) - (try #require(killedAt.value))
                print("sentinel failover: writes resumed \(recovery) after the primary was killed")
                #expect(recovery < .seconds(10))
                // Commands have a 2 s deadline; nothing may hang much past it.
                #expect(longestCall.value < .seconds(3))
                #expect(client.configuration.endpoint.port == topology.primary.port)
                client.shutdown()
                try await group.waitForAll()
            }
        }
    }
    @Test("replica reads: GETs go to verified replicas, writes to the primary; after the primary is killed both keep working")
    func replicaReads() async throws {
        try await RedisSentinelTopology.withTopology { topology in
            var replicaReading = sentinelConfiguration(topology)
            replicaReading.readFromReplicas = true
            replicaReading.replicaRefreshInterval = .seconds(1)
            let client = try RedisClient(sentinel: replicaReading, configuration: dataNodes, pool: fastRecovery)
            let primaryOnly = try RedisClient(sentinel: sentinelConfiguration(topology), configuration: dataNodes, pool: fastRecovery)
            @Sendable func endpoint(_ server: RedisServer) -> RedisEndpoint { RedisEndpoint(host: server.host, port: server.port) }
            /// GETs each data node has served since `before` (a killed node counts as none).
            func getsSince(_ before: [Int: Int]) -> [Int: Int] {
                var served: [Int: Int] = [:]
                for node in topology.dataNodes where node.isRunning {
                    served[node.port] = ((try? node.commandCalls("GET")) ?? 0) - before[node.port, default: 0]
                }
                return served
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                group.addTask { try await primaryOnly.run() }
                let replicas = Set(topology.replicas.map(endpoint))
                #expect(await eventually { client.readReplicas == replicas })
                #expect(primaryOnly.readReplicas.isEmpty)

                // Writes succeed, so they reached the primary (a replica refuses them).
                for index in 0..<20 { try await client.set("rr:\(index)", to: index) }
                #expect(try await client.send(RawCommand(["WAIT", "2", "2000"])).value == .integer(2))
                var counted = getsSince([:])
                for index in 0..<20 { #expect(try await client.get("rr:\(index)")?.text == "\(index)") }
                var served = getsSince(counted)
                #expect(served[topology.primary.port] == 0, "\(served)")
                #expect(topology.replicas.reduce(0) { $0 + served[$1.port, default: 0] } == 20, "\(served)")
                counted = getsSince([:])
                for index in 0..<5 { #expect(try await primaryOnly.get("rr:\(index)")?.text == "\(index)") }
                #expect(getsSince(counted)[topology.primary.port] == 5, "replica reads are off by default")

                // Failover: reads and writes keep working, and reads return to the surviving replica.
                let oldPort = await topology.killPrimary()
                let newPort = try await topology.waitForFailover(from: oldPort)
                let failedOver = ContinuousClock.now
                #expect(await eventually(timeout: .seconds(15)) { (try? await client.set("rr:after", to: "x")) == true })
                #expect(await eventually { (try? await client.get("rr:after"))??.text == "x" })
                let survivor = try #require(topology.replicas.first { $0.isRunning })
                #expect(await eventually(timeout: .seconds(15)) { client.readReplicas == [endpoint(survivor)] })
                print("sentinel replica reads: the surviving replica serves reads \(ContinuousClock.now - failedOver) after the sentinels agreed on the new primary")
                _ = try await client.send(RawCommand(["WAIT", "1", "2000"]))
                counted = getsSince([:])
                for _ in 0..<10 { #expect(try await client.get("rr:after")?.text == "x") }
                served = getsSince(counted)
                #expect(served[survivor.port] == 10 && served[newPort] == 0, "\(served)")

                // With no healthy replica left, reads fall back to the primary without failing.
                await survivor.kill()
                for _ in 0..<10 { #expect(try await client.get("rr:after")?.text == "x") }
                #expect(await eventually { client.readReplicas.isEmpty })
                client.shutdown()
                primaryOnly.shutdown()
                try await group.waitForAll()
            }
        }
    }
}
