import Testing

@testable import Redis

@Suite("Cluster tracking plan: which tracking sessions follow a new slot map, and when local copies go")
struct ClusterTrackingPlanTests {
    func topology(_ layout: [(slots: [Int], nodes: [FakeNode])]) throws -> ClusterTopology {
        try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: local(7001))
    }

    @Test("the first map opens a session per primary and flushes nothing; the same map again changes nothing")
    func firstMap() throws {
        let map = try topology(threeShards())
        let first = ClusterTrackingPlan(tracked: [], previous: nil, next: map)
        #expect(first.open == [local(7001), local(7002), local(7003)])
        #expect(first.close.isEmpty && !first.flush)
        let again = ClusterTrackingPlan(tracked: [local(7001), local(7002), local(7003)], previous: map, next: map)
        #expect(again.open.isEmpty && again.close.isEmpty && !again.flush)
    }

    @Test("a slot moved between primaries flushes everything and keeps the sessions")
    func reshard() throws {
        let before = try topology(threeShards())
        var layout = threeShards()
        layout[0].slots = [1, 5460]
        layout[1].slots = [0, 0, 5461, 10922]
        let plan = ClusterTrackingPlan(tracked: [local(7001), local(7002), local(7003)], previous: before, next: try topology(layout))
        #expect(plan.flush)
        #expect(plan.open.isEmpty && plan.close.isEmpty)
    }

    @Test("a failover opens a session to the promoted replica, closes the old primary's, and flushes everything")
    func failover() throws {
        let before = try topology(threeShards())
        var layout = threeShards()
        layout[0].nodes = [FakeNode(id: nodeID(4), port: 7004), FakeNode(id: nodeID(1), port: 7001, role: "replica", health: "fail")]
        let plan = ClusterTrackingPlan(tracked: [local(7001), local(7002), local(7003)], previous: before, next: try topology(layout))
        #expect(plan.open == [local(7004)])
        #expect(plan.close == [local(7001)])
        #expect(plan.flush)
    }

    @Test("a replica that appears or changes health flushes nothing")
    func replicaChanges() throws {
        let before = try topology(threeShards(replicaHealth: "loading", replicaOffset: 0))
        let plan = ClusterTrackingPlan(tracked: [local(7001), local(7002), local(7003)], previous: before, next: try topology(threeShards()))
        #expect(plan.open.isEmpty && plan.close.isEmpty && !plan.flush)
    }
}
