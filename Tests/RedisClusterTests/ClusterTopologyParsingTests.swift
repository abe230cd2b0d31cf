import RESP
import Redis
import Testing

/// One node of a synthetic `CLUSTER SHARDS` reply.
struct FakeNode {
    var id: String
    var port: Int?
    var tlsPort: Int? = nil
    var ip = "127.0.0.1"
    var endpoint: String? = "127.0.0.1"
    var hostname: String? = nil
    var role = "master"
    var offset = 1000
    var health = "online"

    func fields() -> [(String, RESPValue)] {
        var fields: [(String, RESPValue)] = [("id", bulk(id))]
        if let port { fields.append(("port", .integer(port))) }
        if let tlsPort { fields.append(("tls-port", .integer(tlsPort))) }
        fields.append(("ip", bulk(ip)))
        fields.append(("endpoint", endpoint.map(bulk) ?? .null))
        if let hostname { fields.append(("hostname", bulk(hostname))) }
        fields += [("role", bulk(role)), ("replication-offset", .integer(offset)), ("health", bulk(health))]
        return fields
    }
}

/// A map (RESP3) or a flat array of names and values (RESP2).
func record(_ fields: [(String, RESPValue)], resp3: Bool) -> RESPValue {
    resp3 ? .map(fields.map { RESPValue.Pair(bulk($0.0), $0.1) }) : .array(fields.flatMap { [bulk($0.0), $0.1] })
}

/// A `CLUSTER SHARDS` reply.
func shardsReply(_ shards: [(slots: [Int], nodes: [FakeNode])], resp3: Bool) throws -> RESPToken {
    try token(
        .array(
            shards.map { shard in
                record(
                    [
                        ("slots", .array(shard.slots.map { .integer($0) })),
                        ("nodes", .array(shard.nodes.map { record($0.fields(), resp3: resp3) })),
                    ], resp3: resp3)
            }))
}

/// One node of a `CLUSTER SLOTS` entry: endpoint, port, id, metadata.
func slotsNode(_ endpoint: String?, _ port: Int, _ id: String, metadata: [(String, RESPValue)] = []) -> RESPValue {
    .array([endpoint.map(bulk) ?? .null, .integer(port), bulk(id), record(metadata, resp3: true)])
}

/// The 3+3 layout redis-cli creates, as SHARDS nodes.
func threeShards(replicaHealth: String = "online", replicaOffset: Int = 1000) -> [(slots: [Int], nodes: [FakeNode])] {
    [
        ([0, 5460], [FakeNode(id: nodeID(1), port: 7001), FakeNode(id: nodeID(4), port: 7004, role: "replica", offset: replicaOffset, health: replicaHealth)]),
        ([5461, 10922], [FakeNode(id: nodeID(2), port: 7002), FakeNode(id: nodeID(5), port: 7005, role: "replica", offset: replicaOffset, health: replicaHealth)]),
        ([10923, 16383], [FakeNode(id: nodeID(3), port: 7003), FakeNode(id: nodeID(6), port: 7006, role: "replica", offset: replicaOffset, health: replicaHealth)]),
    ]
}

@Suite("Topology parsing")
struct ClusterTopologyParsingTests {
    let asked = local(7001)

    @Test("CLUSTER SHARDS, RESP3 maps and RESP2 flat arrays, give the same map", arguments: [true, false])
    func shards(resp3: Bool) throws {
        let topology = try ClusterTopology(shardsReply: try shardsReply(threeShards(), resp3: resp3), askedNode: asked)
        #expect(topology.shards.count == 3)
        #expect(topology.assignedSlotCount == 16384)
        #expect(topology.isFullyRoutable)
        #expect(topology.endpoints == Set((7001...7006).map(local)))
        #expect(topology.primary(forSlot: HashSlot(0)!)?.endpoint == local(7001))
        #expect(topology.primary(forSlot: HashSlot(5461)!)?.endpoint == local(7002))
        #expect(topology.primary(forSlot: .last)?.id == nodeID(3))
        #expect(topology.replicas(forSlot: .last).map(\.endpoint) == [local(7006)])
        let replica = try #require(topology.node(id: nodeID(4)))
        #expect(replica.role == .replica && replica.health == .online && replica.replicationOffset == 1000)
        #expect(topology.primary(forKey: "foo")?.endpoint == local(7003))  // slot 12182
        #expect(topology.node(at: local(7005))?.id == nodeID(5))
        let other = try ClusterTopology(shardsReply: try shardsReply(threeShards(), resp3: !resp3), askedNode: asked)
        #expect(topology == other)
    }

    @Test("Several ranges per shard, unassigned slots, unknown fields")
    func ranges() throws {
        var node = FakeNode(id: nodeID(1), port: 7001)
        node.hostname = "node-1"
        let reply = try token(
            .array([
                .map([
                    .init(bulk("slots"), .array([0, 9, 20, 29].map { .integer($0) })),
                    .init(bulk("future-field"), .boolean(true)),
                    .init(bulk("nodes"), .array([record(node.fields() + [("extra", .integer(1))], resp3: true)])),
                ])
            ]))
        let topology = try ClusterTopology(shardsReply: reply, askedNode: asked)
        #expect(topology.shards[0].slotRanges == [slots(0...9), slots(20...29)])
        #expect(topology.assignedSlotCount == 20)
        #expect(topology.owner(ofSlot: HashSlot(15)!) == .unassigned)
        #expect(topology.primary(forSlot: HashSlot(25)!)?.endpoint == local(7001))
        #expect(!topology.isFullyRoutable)
    }

    @Test("Nodes that are loading or failed are never routed to")
    func health() throws {
        var layout = threeShards(replicaHealth: "loading", replicaOffset: 0)
        layout[1].nodes[0].health = "fail"
        let topology = try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: asked)
        let failed = try #require(topology.node(id: nodeID(2)))
        #expect(failed.health == .failed && !failed.isRoutable)
        #expect(topology.owner(ofSlot: HashSlot(6000)!) == .unhealthyPrimary(failed))
        #expect(topology.primary(forSlot: HashSlot(6000)!) == nil)
        #expect(topology.primary(forSlot: HashSlot(0)!)?.id == nodeID(1))
        // Redis 7.0: a replica whose replication offset is still 0 is "loading"; kept, not routable.
        #expect(topology.node(id: nodeID(4))?.health == .loading)
        #expect(topology.replicas(forSlot: HashSlot(0)!).isEmpty)
        #expect(topology.shards[0].replicas.count == 1)
        #expect(!topology.isFullyRoutable)
        #expect(ClusterNode.Health("failed") == .failed && !ClusterNode.Health("failed").isRoutable)
        #expect(ClusterNode.Health("something-new").isRoutable)
    }

    @Test("Unknown, empty and '?' endpoints; hostnames; TLS ports")
    func endpoints() throws {
        let layout: [(slots: [Int], nodes: [FakeNode])] = [
            ([0, 99], [FakeNode(id: nodeID(1), port: 7001, endpoint: nil)]),
            ([100, 199], [FakeNode(id: nodeID(2), port: 7002, endpoint: "")]),
            ([200, 299], [FakeNode(id: nodeID(3), port: 7003, ip: "10.1.1.3", endpoint: "?")]),
            ([300, 399], [FakeNode(id: nodeID(4), port: 7004, ip: "10.1.1.4", endpoint: "node-4.example", hostname: "node-4.example")]),
            ([400, 499], [FakeNode(id: nodeID(5), port: 7005, tlsPort: 8005)]),
            ([500, 599], [FakeNode(id: nodeID(6), port: nil, tlsPort: 8006)]),
        ]
        let asked = RedisEndpoint(host: "seed.example", port: 7001)
        let plain = try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: asked)
        #expect(plain.shards.map { $0.primary!.endpoint } == [
            RedisEndpoint(host: "seed.example", port: 7001), RedisEndpoint(host: "seed.example", port: 7002),
            RedisEndpoint(host: "10.1.1.3", port: 7003), RedisEndpoint(host: "node-4.example", port: 7004),
            local(7005), local(8006),
        ])
        let tls = try ClusterTopology(shardsReply: try shardsReply(layout, resp3: false), askedNode: asked, useTLSPort: true)
        #expect(tls.shards.map { $0.primary!.endpoint.port } == [7001, 7002, 7003, 7004, 8005, 8006])
    }

    @Test("CLUSTER SLOTS: ranges grouped by primary, replicas merged, NULL endpoint, metadata")
    func slotsReply() throws {
        let reply = try token(
            .array([
                .array([.integer(0), .integer(99), slotsNode("127.0.0.1", 7001, nodeID(1)), slotsNode("127.0.0.1", 7004, nodeID(4))]),
                .array([.integer(100), .integer(16383), slotsNode(nil, 7002, nodeID(2), metadata: [("hostname", bulk("n2"))])]),
                .array([.integer(200), .integer(199 - 100), slotsNode("127.0.0.1", 7001, nodeID(1))]),
            ]))
        #expect(throws: RedisError.self) { try ClusterTopology(slotsReply: reply, askedNode: asked) }  // 200 > 99

        let good = try token(
            .array([
                .array([.integer(0), .integer(99), slotsNode("127.0.0.1", 7001, nodeID(1)), slotsNode("127.0.0.1", 7004, nodeID(4))]),
                .array([.integer(100), .integer(16283), slotsNode(nil, 7002, nodeID(2), metadata: [("hostname", bulk("n2"))])]),
                .array([.integer(16284), .integer(16383), slotsNode("127.0.0.1", 7001, nodeID(1)), slotsNode("?", 7005, nodeID(5), metadata: [("ip", bulk("10.0.0.5"))])]),
            ]))
        let topology = try ClusterTopology(slotsReply: good, askedNode: RedisEndpoint(host: "seed", port: 7002))
        #expect(topology.shards.count == 2)
        #expect(topology.shards[0].slotRanges == [slots(0...99), slots(16284...16383)])
        #expect(topology.shards[0].replicas.map(\.endpoint) == [local(7004), RedisEndpoint(host: "10.0.0.5", port: 7005)])
        #expect(topology.shards[1].primary?.endpoint == RedisEndpoint(host: "seed", port: 7002))
        #expect(topology.isFullyRoutable)
        #expect(topology.nodes.allSatisfy { $0.health == .online && $0.replicationOffset == nil })
    }

    @Test("CLUSTER SLOTS from old servers: no ids, no metadata")
    func oldSlots() throws {
        let reply = try token(
            .array([
                .array([.integer(0), .integer(8191), .array([bulk("127.0.0.1"), .integer(7001)])]),
                .array([.integer(8192), .integer(16383), .array([bulk("127.0.0.1"), .integer(7002)]), .array([bulk("127.0.0.1"), .integer(7003)])]),
            ]))
        let topology = try ClusterTopology(slotsReply: reply, askedNode: asked)
        #expect(topology.shards.count == 2)
        #expect(topology.shards[1].replicas.map(\.endpoint) == [local(7003)])
        #expect(topology.nodes.allSatisfy { $0.id.isEmpty })
    }

    @Test("Malformed replies are unexpectedReply errors, never crashes", arguments: [
        RESPValue.simpleString("OK"),
        .array([.integer(1)]),
        .array([.map([.init(bulk("slots"), .array([.integer(0)]))])]),  // odd bounds
        .array([.map([.init(bulk("slots"), .array([.integer(5), .integer(1)]))])]),  // start > end
        .array([.map([.init(bulk("slots"), .array([.integer(0), .integer(16384)]))])]),  // out of range
        .array([.map([.init(bulk("nodes"), .integer(3))])]),
        .array([.map([.init(bulk("nodes"), .array([.map([.init(bulk("id"), bulk("x"))])]))])]),  // no port
        .array([.array([bulk("slots")])]),  // odd field list
        .array([.map([.init(.integer(1), .integer(2))])]),  // non-string field name
    ])
    func malformedShards(reply: RESPValue) throws {
        let reply = try token(reply)
        let error = #expect(throws: RedisError.self) { try ClusterTopology(shardsReply: reply, askedNode: self.asked) }
        #expect(error?.code == .unexpectedReply)
    }

    @Test("Malformed CLUSTER SLOTS replies", arguments: [
        RESPValue.integer(1),
        .array([.array([.integer(0), .integer(1)])]),  // no node
        .array([.array([.integer(0), .integer(1), .array([bulk("h")])])]),  // no port
        .array([.array([bulk("a"), .integer(1), .array([bulk("h"), .integer(1)])])]),
        .array([.array([.integer(0), .integer(1), .integer(5)])]),
    ])
    func malformedSlots(reply: RESPValue) throws {
        let reply = try token(reply)
        let error = #expect(throws: RedisError.self) { try ClusterTopology(slotsReply: reply, askedNode: self.asked) }
        #expect(error?.code == .unexpectedReply)
    }

    @Test("Two shards claiming one slot is an error")
    func overlap() throws {
        let layout: [(slots: [Int], nodes: [FakeNode])] = [
            ([0, 100], [FakeNode(id: nodeID(1), port: 7001)]),
            ([100, 200], [FakeNode(id: nodeID(2), port: 7002)]),
        ]
        #expect(throws: RedisError.self) {
            try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: self.asked)
        }
        #expect(ClusterTopology.empty.assignedSlotCount == 0)
        #expect(ClusterTopology.empty.primary(forSlot: .first) == nil)
    }

    @Test("A shard without a primary, and a failed ex-primary with no slots")
    func orphanShard() throws {
        let layout: [(slots: [Int], nodes: [FakeNode])] = [
            ([0, 16383], [FakeNode(id: nodeID(2), port: 7002, role: "replica")]),
            ([], [FakeNode(id: nodeID(1), port: 7001, health: "fail")]),
        ]
        let topology = try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: asked)
        #expect(topology.owner(ofSlot: .first) == .noPrimary)
        #expect(topology.shards[1].slotRanges.isEmpty)
        #expect(topology.nodes.count == 2)
    }
}
