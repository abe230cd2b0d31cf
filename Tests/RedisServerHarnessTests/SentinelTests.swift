import Foundation
@testable import RedisServerHarness
import Synchronization
import Testing

@Suite("Redis Sentinel")
struct SentinelTests {
    @Test("1 primary + 2 replicas + 3 Sentinels: ready, Sentinels agree; stop leaves no process, zombie or directory")
    func topologyBecomesReady() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let topology = try await RedisSentinelTopology.start()
        print("Sentinel topology ready in \(started.duration(to: clock.now))")

        #expect(topology.serviceName == "mymaster")
        #expect(topology.dataNodes.count == 3)
        #expect(topology.sentinels.count == 3)
        #expect(topology.primary === topology.dataNodes[0])
        #expect(topology.replicas.map(\.port) == topology.dataNodes.dropFirst().map(\.port))
        #expect(topology.sentinelEndpoints.map(\.port) == topology.sentinels.map(\.port))
        #expect(topology.sentinelEndpoints.allSatisfy { $0.host == "127.0.0.1" })
        let allPorts = topology.dataNodes.map(\.port) + topology.sentinels.map(\.port)
        #expect(Set(allPorts).count == 6)
        #expect(try topology.currentPrimaryPort() == topology.primary.port)

        #expect(try topology.primary.command("ROLE").firstString == "master")
        for replica in topology.replicas {
            #expect(try replica.command("ROLE").firstString == "slave")
            #expect(!replica.isSentinel)
        }
        for sentinel in topology.sentinels {
            #expect(sentinel.isSentinel)
            let address = try sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
            #expect(address == .array([.bulk("127.0.0.1"), .bulk(String(topology.primary.port))]))
            let primary = try RedisSentinelTopology.fieldMaps(.array([sentinel.command("SENTINEL", "MASTER", "mymaster")]))[0]
            #expect(primary["num-slaves"] == "2")
            #expect(primary["num-other-sentinels"] == "2")
            #expect(primary["quorum"] == "2")
            #expect(primary["down-after-milliseconds"] == "1000")
            #expect(primary["failover-timeout"] == "2000")
            // Each Sentinel has its own configuration file, which it rewrote.
            let configPath = try #require(sentinel.sentinelConfigPath)
            #expect(configPath.hasPrefix(sentinel.directory + "/"))
            let config = try String(contentsOfFile: configPath, encoding: .utf8)
            #expect(config.contains("sentinel monitor mymaster 127.0.0.1 \(topology.dataNodes[0].port) 2"))
            #expect(config.contains("sentinel myid "))
        }
        #expect(Set(topology.sentinels.compactMap(\.sentinelConfigPath)).count == 3)

        // Writes reach the replicas.
        #expect(try topology.primary.command("SET", "harness:sentinel", "1") == .status("OK"))
        #expect(try topology.primary.command("WAIT", "2", "2000") == .integer(2))
        for replica in topology.replicas {
            #expect(try replica.command("GET", "harness:sentinel") == .bulk("1"))
        }

        // A restarted Sentinel reads its rewritten file again and rejoins.
        let restarted = topology.sentinels[1]
        let firstSentinelPID = restarted.pid
        try await restarted.restart()
        #expect(isGone(firstSentinelPID))
        #expect(restarted.pid != firstSentinelPID)
        let rejoined = clock.now
        try await topology.waitUntilReady(timeout: .seconds(10))
        print("Restarted Sentinel rejoined in \(rejoined.duration(to: clock.now))")

        let pids = topology.dataNodes.map(\.pid) + topology.sentinels.map(\.pid) + [firstSentinelPID]
        let directories = topology.dataNodes.map(\.directory) + topology.sentinels.map(\.directory)
        await topology.stop()
        for pid in pids {
            #expect(isGone(pid), "pid \(pid) left in state \(String(describing: processState(pid)))")
            #expect(!ProcessRegistry.livePIDs.contains(pid))
        }
        for directory in directories { #expect(!FileManager.default.fileExists(atPath: directory)) }
        await topology.stop()  // idempotent
        #expect(throws: RedisServerError.self) { try topology.currentPrimaryPort() }
    }

    @Test("killing the primary by pid: a replica is promoted, waitForFailover returns its port, the other replica follows")
    func failoverAfterKill() async throws {
        let pids = try await RedisSentinelTopology.withTopology { topology in
            let oldPrimary = topology.primary
            let oldPort = oldPrimary.port
            let oldPID = oldPrimary.pid
            #expect(try oldPrimary.command("SET", "harness:failover", "kept") == .status("OK"))
            #expect(try oldPrimary.command("WAIT", "2", "2000") == .integer(2))

            let clock = ContinuousClock()
            let killed = clock.now
            #expect(await topology.killPrimary() == oldPort)
            #expect(isGone(oldPID))
            let newPort = try await topology.waitForFailover(from: oldPort, timeout: .seconds(10))
            let failoverTime = killed.duration(to: clock.now)
            try await topology.waitUntilReady(timeout: .seconds(10))
            let settledTime = killed.duration(to: clock.now)
            print("Sentinel failover: new primary after \(failoverTime), topology settled after \(settledTime)")
            #expect(failoverTime < .seconds(10))

            #expect(newPort != oldPort)
            #expect(topology.primary.port == newPort)
            #expect(topology.primary !== oldPrimary)
            #expect(topology.replicas.contains { $0 === oldPrimary })
            #expect(try topology.primary.command("ROLE").firstString == "master")
            #expect(try topology.currentPrimaryPort() == newPort)
            for sentinel in topology.sentinels {
                let address = try sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
                #expect(address == .array([.bulk("127.0.0.1"), .bulk(String(newPort))]))
            }
            // The data survived, and the remaining replica follows the new primary.
            #expect(try topology.primary.command("GET", "harness:failover") == .bulk("kept"))
            let follower = try #require(topology.replicas.first { $0.isRunning })
            let info = try RedisSentinelTopology.infoFields(follower.command("INFO", "replication"))
            #expect(info["master_port"] == String(newPort))
            #expect(info["master_link_status"] == "up")

            // A second waitForFailover from the new port times out rather than returning it.
            await #expect(throws: RedisServerError.self) {
                try await topology.waitForFailover(from: newPort, timeout: .milliseconds(100))
            }
            return topology.dataNodes.map(\.pid) + topology.sentinels.map(\.pid)
        }
        for pid in pids { #expect(isGone(pid)) }
    }

    struct Boom: Error {}

    @Test("data-node and Sentinel passwords: ready, unauthenticated clients are refused; withTopology stops on throw")
    func passwords() async throws {
        let options = RedisSentinelTopology.Options(
            node: .init(password: "data \"secret\""), sentinelPassword: "sentinel-secret")
        let seen = Mutex<[Int32]>([])
        await #expect(throws: Boom.self) {
            try await RedisSentinelTopology.withTopology(options) { topology in
                seen.withLock { $0 = topology.dataNodes.map(\.pid) + topology.sentinels.map(\.pid) }
                #expect(try topology.currentPrimaryPort() == topology.primary.port)

                let primarySocket = try BlockingSocket(port: topology.primary.port)
                guard case .simpleError(let refused) = try primarySocket.request("GET", "k") else {
                    Issue.record("the primary answered without AUTH")
                    throw Boom()
                }
                #expect(refused.hasPrefix("NOAUTH"))

                for sentinel in topology.sentinels {
                    let socket = try BlockingSocket(port: sentinel.port)
                    guard case .simpleError(let message) = try socket.request("SENTINEL", "MASTERS") else {
                        Issue.record("Sentinel \(sentinel.port) answered without AUTH")
                        continue
                    }
                    #expect(message.hasPrefix("NOAUTH"))
                    #expect(try socket.request("AUTH", "sentinel-secret") == .simpleString("OK"))
                    // Authenticated to the primary with auth-pass, and to each other with sentinel-pass.
                    let primary = try RedisSentinelTopology.fieldMaps(.array([sentinel.command("SENTINEL", "MASTER", "mymaster")]))[0]
                    #expect(primary["flags"] == "master")
                    #expect(primary["num-slaves"] == "2")
                    #expect(primary["num-other-sentinels"] == "2")
                }
                for replica in topology.replicas {
                    let info = try RedisSentinelTopology.infoFields(replica.command("INFO", "replication"))
                    #expect(info["master_link_status"] == "up", "masterauth lets replicas sync")
                }
                throw Boom()
            }
        }
        let pids = seen.withLock { $0 }
        #expect(pids.count == 6)
        for pid in pids { #expect(isGone(pid)) }
    }

    @Test("invalid options are refused before anything starts")
    func invalidOptions() async throws {
        await #expect(throws: RedisServerError.self) {
            _ = try await RedisSentinelTopology.start(.init(sentinels: 2, quorum: 3))
        }
        await #expect(throws: RedisServerError.self) {
            _ = try await RedisSentinelTopology.start(.init(serviceName: "two words"))
        }
    }
}

extension RedisReply {
    /// The first element of an array reply, as text (e.g. the role name in `ROLE`).
    fileprivate var firstString: String? {
        guard case .array(let elements?) = self else { return nil }
        return elements.first?.string
    }
}
