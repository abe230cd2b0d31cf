import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Against a real 3+3 cluster", .serialized)
struct LiveClusterTests {
    @Test("HashSlot matches CLUSTER KEYSLOT for 100k random keys")
    func keyslot() async throws {
        let cluster = try await SharedCluster.get()
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(state: seed)
        var mismatches: [String] = []
        try await withConnection(to: cluster.nodes[0].endpoint) { connection in
            for _ in 0..<100 {
                let keys = randomKeys(1000, using: &generator)
                let results = try await connection.pipeline(keys.map { RawCommand(["CLUSTER", "KEYSLOT", $0]) })
                for (key, result) in zip(keys, results) {
                    let slot = try Int(fromRESP: try result.get())
                    if Int(HashSlot(key: key).rawValue) != slot { mismatches.append(key) }
                }
            }
        }
        let mismatchCount = mismatches.count  // not the array: a failure would print every key
        #expect(mismatchCount == 0, "seed \(seed), first mismatches: \(mismatches.prefix(5).map(\.debugDescription))")
    }

    @Test("CLUSTER SHARDS (RESP3 and RESP2) and CLUSTER SLOTS give the same complete map")
    func topology() async throws {
        let cluster = try await SharedCluster.get()
        let asked = cluster.nodes[0].endpoint
        var views: [ClusterTopology] = []
        for version in [RedisProtocolVersion.resp3, .resp2] {
            try await withConnection(to: asked, protocolVersion: version) { connection in
                #expect(connection.protocolVersion == version)
                views.append(try ClusterTopology(shardsReply: try await connection.raw("CLUSTER", "SHARDS"), askedNode: asked))
                views.append(try ClusterTopology(slotsReply: try await connection.raw("CLUSTER", "SLOTS"), askedNode: asked))
            }
        }
        let expectedEndpoints = Set(cluster.nodes.map(\.endpoint))
        for view in views {
            #expect(view.shards.count == 3)
            #expect(view.shards.allSatisfy { $0.primary?.role == .primary && $0.replicas.count == 1 })
            #expect(view.shards.allSatisfy { $0.replicas.allSatisfy { $0.role == .replica && $0.isRoutable } })
            #expect(view.assignedSlotCount == HashSlot.count)
            #expect(view.isFullyRoutable)
            #expect(view.endpoints == expectedEndpoints)
            #expect(view.nodes.allSatisfy { $0.id.count == 40 })
            #expect(view.diff(from: views[0]).isEmpty)
        }
        // SHARDS has health and offsets; SLOTS has neither.
        #expect(views[0].nodes.allSatisfy { $0.health == .online && ($0.replicationOffset ?? 0) > 0 })
        // RESP3 and RESP2 SHARDS: the same nodes, roles, health and slots. Replication offsets
        // are left out: replicas acknowledge other tests' writes between the two reads.
        func withoutOffsets(_ view: ClusterTopology) -> [[String]] {
            view.shards.map { shard in
                shard.slotRanges.map { "\($0.lowerBound.rawValue)-\($0.upperBound.rawValue)" }
                    + shard.nodes.map { "\($0.id) \($0.endpoint) \($0.role) \($0.health)" }
            }
        }
        #expect(withoutOffsets(views[0]) == withoutOffsets(views[2]))
        #expect(ClusterTopology.crossCheck(views: views)?.isUnanimous == true)

        // Every primary in the map says it is one.
        for shard in views[0].shards {
            let node = try #require(cluster.nodes.first { $0.endpoint == shard.primary?.endpoint })
            guard case .array(let role?) = try node.command("ROLE") else {
                Issue.record("ROLE")
                continue
            }
            #expect(role.first?.string == "master")
        }
    }

    @Test("Every node's view agrees")
    func allViews() async throws {
        let cluster = try await SharedCluster.get()
        var views: [ClusterTopology] = []
        for node in cluster.nodes {
            try await withConnection(to: node.endpoint) { connection in
                views.append(try ClusterTopology(shardsReply: try await connection.raw("CLUSTER", "SHARDS"), askedNode: node.endpoint))
            }
        }
        let check = try #require(ClusterTopology.crossCheck(views: views))
        #expect(check.isUnanimous)
        #expect(check.topology.nodes.count == 6)
    }

    @Test("The computed owner accepts GET; every other node answers MOVED to it")
    func ownership() async throws {
        let cluster = try await SharedCluster.get()
        let endpoints = cluster.nodes.map(\.endpoint)
        var generator = SeededGenerator(state: UInt64.random(in: 0...UInt64.max))
        let keys = randomKeys(300, using: &generator).map { "owner:\($0)" }
        try await withConnections(to: endpoints) { connections in
            let topology = try ClusterTopology(
                shardsReply: try await connections[endpoints[0]]!.raw("CLUSTER", "SHARDS"), askedNode: endpoints[0])
            for endpoint in endpoints {
                let results = try await connections[endpoint]!.pipeline(keys.map { RawCommand(["GET", $0]) })
                for (key, result) in zip(keys, results) {
                    let owner = try #require(topology.primary(forKey: key))
                    switch result {
                    case .success:
                        #expect(owner.endpoint == endpoint, "\(key.debugDescription) answered by a non-owner")
                    case .failure(let error):
                        #expect(owner.endpoint != endpoint, "\(key.debugDescription) refused by its owner: \(error)")
                        let redirect = try #require(ClusterRedirect(error, askedNode: endpoint), "\(error)")
                        #expect(redirect == ClusterRedirect(kind: .moved, slot: HashSlot(key: key), endpoint: owner.endpoint))
                    }
                }
            }
        }
    }

    @Test("ASK from a migrating slot; ASKING then the command is served by the target")
    func ask() async throws {
        let cluster = try await SharedCluster.get()
        let endpoints = cluster.nodes.map(\.endpoint)
        let key = "ask:\(UInt32.random(in: 0...UInt32.max))"
        let slot = HashSlot(key: key)
        try await withConnections(to: endpoints) { connections in
            let topology = try ClusterTopology(
                shardsReply: try await connections[endpoints[0]]!.raw("CLUSTER", "SHARDS"), askedNode: endpoints[0])
            let source = try #require(topology.primary(forSlot: slot))
            let target = try #require(topology.shards.compactMap(\.primary).first { $0 != source })
            let sourceConnection = connections[source.endpoint]!
            let targetConnection = connections[target.endpoint]!
            try await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id)
            try await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
            do {
                // The key is not on the source, so the source sends the client to the target once.
                let error = await #expect(throws: RedisError.self) { try await sourceConnection.raw("GET", key) }
                #expect(error?.code == .ask)
                let redirect = try #require(error.flatMap { ClusterRedirect($0, askedNode: source.endpoint) })
                #expect(redirect == ClusterRedirect(kind: .ask, slot: slot, endpoint: target.endpoint))
                // Without ASKING the target still redirects to the owner; with it, it serves the key.
                let moved = await #expect(throws: RedisError.self) { try await targetConnection.raw("GET", key) }
                #expect(moved.flatMap { ClusterRedirect($0, askedNode: target.endpoint) }?.endpoint == source.endpoint)
                let results = try await targetConnection.pipeline([RawCommand(["ASKING"]), RawCommand(["GET", key])])
                #expect(results.count == 2)
                #expect((try? results[1].get()).map { RESPValue($0) } == .null)
            } catch {
                Issue.record("\(error)")
            }
            try await sourceConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
            try await targetConnection.raw("CLUSTER", "SETSLOT", "\(slot)", "STABLE")
            #expect((try? await sourceConnection.raw("GET", key)).map { RESPValue($0) } == .null)
        }
    }

    @Test("Unknown endpoints (MOVED :port, NULL in SLOTS) and missing hostnames ('?') resolve to a usable host")
    func endpointForms() async throws {
        let cluster = try await SharedCluster.get()
        let expectedEndpoints = Set(cluster.nodes.map(\.endpoint))
        let asked = cluster.nodes[0].endpoint
        try await withConnection(to: asked) { connection in
            let topology = try ClusterTopology(shardsReply: try await connection.raw("CLUSTER", "SHARDS"), askedNode: asked)
            let key = try #require((0..<1000).map { "form:\($0)" }.first { topology.primary(forKey: $0)?.endpoint != asked })
            let owner = try #require(topology.primary(forKey: key))
            for type in ["unknown-endpoint", "hostname"] {
                try await connection.raw("CONFIG", "SET", "cluster-preferred-endpoint-type", type)
                do {
                    let error = await #expect(throws: RedisError.self) { try await connection.raw("GET", key) }
                    let message = error?.serverMessage ?? ""
                    #expect(message.hasSuffix(type == "hostname" ? " ?:\(owner.endpoint.port)" : " :\(owner.endpoint.port)"), "\(message)")
                    #expect(error.flatMap { ClusterRedirect($0, askedNode: asked) }?.endpoint == owner.endpoint)
                    for version in [RedisProtocolVersion.resp3, .resp2] {
                        try await withConnection(to: asked, protocolVersion: version) { other in
                            let slots = try ClusterTopology(slotsReply: try await other.raw("CLUSTER", "SLOTS"), askedNode: asked)
                            #expect(slots.endpoints == expectedEndpoints, "\(type) SLOTS \(version)")
                            let shards = try ClusterTopology(shardsReply: try await other.raw("CLUSTER", "SHARDS"), askedNode: asked)
                            #expect(shards.endpoints == expectedEndpoints, "\(type) SHARDS \(version)")
                        }
                    }
                } catch {
                    Issue.record("\(type): \(error)")
                }
                try await connection.raw("CONFIG", "SET", "cluster-preferred-endpoint-type", "ip")
            }
        }
    }
}
