import Redis
import Testing

@Suite("Topology views: cross-check, merge, diff")
struct ClusterViewsTests {
    let asked = local(7001)

    func topology(_ layout: [(slots: [Int], nodes: [FakeNode])]) throws -> ClusterTopology {
        try ClusterTopology(shardsReply: try shardsReply(layout, resp3: true), askedNode: asked)
    }

    /// The 3+3 layout after slots 0...5460 moved to the third primary.
    func resharded() -> [(slots: [Int], nodes: [FakeNode])] {
        var layout = threeShards()
        layout[0].slots = []
        layout[2].slots = [0, 5460, 10923, 16383]
        return layout
    }

    @Test("Unanimous views")
    func unanimous() throws {
        let view = try topology(threeShards())
        let check = try #require(ClusterTopology.crossCheck(views: [view, view, view]))
        #expect(check.isUnanimous && check.hasMajority)
        #expect(check.agreeing == [0, 1, 2])
        #expect(check.topology == view)
        #expect(ClusterTopology.crossCheck(views: []) == nil)
        #expect(ClusterTopology.merge(views: [view]) == view)
    }

    @Test("The majority wins; the dissenter is reported")
    func majority() throws {
        let old = try topology(threeShards())
        let new = try topology(resharded())
        let check = try #require(ClusterTopology.crossCheck(views: [old, new, new]))
        #expect(check.topology == new)
        #expect(check.agreeing == [1, 2])
        #expect(check.disagreeing == [0])
        #expect(check.hasMajority && !check.isUnanimous)
    }

    @Test("A view that sees a primary failed disagrees with one that does not")
    func healthDisagreement() throws {
        var failedLayout = threeShards()
        failedLayout[0].nodes[0].health = "fail"
        let healthy = try topology(threeShards())
        let failed = try topology(failedLayout)
        let check = try #require(ClusterTopology.crossCheck(views: [failed, failed, healthy]))
        #expect(check.topology.primary(forSlot: .first) == nil)
        #expect(check.disagreeing == [2])
    }

    @Test("Ties go to the view that can route more slots, then to the earlier one")
    func ties() throws {
        var failedLayout = threeShards()
        failedLayout[0].nodes[0].health = "fail"
        let healthy = try topology(threeShards())
        let failed = try topology(failedLayout)
        let check = try #require(ClusterTopology.crossCheck(views: [failed, healthy]))
        #expect(check.topology == healthy)
        #expect(check.agreeing == [1] && !check.hasMajority)

        let new = try topology(resharded())
        #expect(ClusterTopology.crossCheck(views: [new, healthy])?.agreeing == [0])
        #expect(ClusterTopology.crossCheck(views: [healthy, new])?.agreeing == [0])
    }

    @Test("Views that differ only in replicas agree; the merge keeps every replica (Redis 7.0 hides offset-0 replicas)")
    func hiddenReplicas() throws {
        var hidden = threeShards()
        hidden[0].nodes.removeLast()  // as CLUSTER SLOTS on 7.0 does before the first sync
        var loading = threeShards()
        loading[1].nodes[1].health = "loading"
        loading[1].nodes[1].offset = 0
        let full = try topology(threeShards(replicaOffset: 500))
        let check = try #require(ClusterTopology.crossCheck(views: [try topology(hidden), try topology(loading), full]))
        #expect(check.isUnanimous)
        let merged = check.topology
        #expect(merged.nodes.count == 6)
        // Each replica comes from the view with the highest offset it reports.
        #expect(merged.node(id: nodeID(5))?.health == .online)
        #expect(merged.node(id: nodeID(5))?.replicationOffset == 1000)
        #expect(merged.node(id: nodeID(4))?.replicationOffset == 1000)

        let partial = try #require(ClusterTopology.merge(views: [try topology(hidden), try topology(hidden), try topology(loading)]))
        #expect(partial.nodes.count == 6)
        #expect(partial.node(id: nodeID(5))?.health == .online)
    }

    @Test("Diff: endpoints added and removed, roles changed, slots moved")
    func diff() throws {
        let before = try topology(threeShards())
        #expect(before.diff(from: before).isEmpty)

        let after = try topology(resharded())
        let reshard = after.diff(from: before)
        #expect(reshard.movedSlotCount == 5461)
        #expect(reshard.addedEndpoints.isEmpty && reshard.removedEndpoints.isEmpty && reshard.roleChangedEndpoints.isEmpty)

        // Failover: 7001 dies and disappears, its replica 7004 is promoted, a new node 7007 joins.
        var failover = threeShards()
        failover[0].nodes = [FakeNode(id: nodeID(4), port: 7004), FakeNode(id: nodeID(7), port: 7007, role: "replica")]
        let promoted = try topology(failover).diff(from: before)
        #expect(promoted.addedEndpoints == [local(7007)])
        #expect(promoted.removedEndpoints == [local(7001)])
        #expect(promoted.roleChangedEndpoints == [local(7004)])
        #expect(promoted.movedSlotCount == 5461)
        #expect(!promoted.isEmpty)

        let fromEmpty = before.diff(from: .empty)
        #expect(fromEmpty.addedEndpoints.count == 6 && fromEmpty.movedSlotCount == 16384)
    }
}
