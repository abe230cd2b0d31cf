import NIOCore
import RESP
import Redis
import RedisServerHarness
import Synchronization
import Testing

// Client tracking over the shared cluster (serialized with LiveClusterTests: one test moves a
// slot and moves it back). The primary-kill case runs inside ClusterFaultTests.killedPrimary,
// on that test's private cluster.

/// Every invalidation a tracked reader reported, in arrival order.
final class InvalidationLog: Sendable {
    private let events = Mutex<[RedisInvalidation]>([])

    /// The handler to give `withTracking`.
    var handler: @Sendable (RedisInvalidation) -> Void { { event in self.events.withLock { $0.append(event) } } }

    /// Keys named by key invalidations so far.
    var keys: Set<String> {
        events.withLock { events in
            Set(events.flatMap { event -> [String] in
                guard case .keys(let keys) = event else { return [] }
                return keys
            })
        }
    }

    /// How many times "drop everything" was reported for `reason`.
    func flushes(_ reason: RedisInvalidation.Reason) -> Int {
        events.withLock { $0.filter { $0 == .all(reason) }.count }
    }
}

extension LiveClusterTests {
    @Test("Cluster tracking: reads on every shard are tracked by their node; a write from another client invalidates them")
    func clusterTrackingInvalidates() async throws {
        let cluster = try await SharedCluster.get()
        let keys = spreadKeys("tracked", 30)
        let log = InvalidationLog()
        try await withClusterClient(cluster) { client in
            for key in keys { try await client.set(key, to: "v1") }
            let primaries = try #require(client.topology).shards.compactMap { $0.primary?.endpoint }
            #expect(Set(keys.compactMap { client.topology?.primary(forKey: $0)?.endpoint }).count == 3)
            try await client.withTracking(onInvalidation: log.handler) { tracked in
                for key in keys { #expect(try await tracked.get(key).map { String(buffer: $0) } == "v1") }
                // Each primary holds a connection with tracking on (flag `t`).
                for primary in primaries {
                    let node = try #require(cluster.nodes.first { $0.endpoint == primary })
                    let clients = try #require(try node.command("CLIENT", "LIST").string)
                    #expect(clients.split(separator: "\n").contains { $0.contains(" flags=t ") }, "no tracking client on \(primary)")
                }
                try await withClusterClient(cluster) { other in
                    for key in keys { try await other.set(key, to: "v2") }
                }
                #expect(await eventually { log.keys.isSuperset(of: keys) })
                // The atomic value + TTL read goes to the key's node too, and is tracked again.
                for key in keys.prefix(6) {
                    let (value, ttl) = try await tracked.getWithTimeToLive(key)
                    #expect(value.map { String(buffer: $0) } == "v2")
                    #expect(ttl == .noExpiry)
                }
                // A command whose keys span slots is refused before anything is sent.
                let elsewhere = try #require(keys.first { HashSlot(key: $0) != HashSlot(key: keys[0]) })
                do throws(RedisError) {
                    _ = try await tracked.send(MGET([keys[0], elsewhere]))
                    Issue.record("expected crossSlot")
                } catch {
                    #expect(error.code == .crossSlot)
                }
            }
            #expect(log.flushes(.topologyChanged) == 0 && log.flushes(.disconnected) == 0)
            #expect(try await client.delete(keys) == keys.count)
        }
    }

    @Test("Cluster tracking: a slot moved to another primary flushes local copies; reads follow it and stay tracked")
    func clusterTrackingFollowsSlotMove() async throws {
        let cluster = try await SharedCluster.get()
        let log = InvalidationLog()
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let key = "tracked-move:\(UInt32.random(in: 0...UInt32.max))"
            try await client.withTracking(onInvalidation: log.handler) { tracked in
                // A miss, which a local cache may keep: no node will ever invalidate it once the
                // slot has moved and the key is written on the new owner.
                #expect(try await tracked.get(key) == nil)
                try await withSlotMoved(cluster, key: key, topology: try #require(client.topology)) { _, target, connections in
                    try await client.set(key, to: "moved")  // MOVED: the map is re-read
                    #expect(await eventually { log.flushes(.topologyChanged) == 1 })
                    #expect(try await tracked.get(key).map { String(buffer: $0) } == "moved")
                    try await connections[target.endpoint]!.raw("SET", key, "again")
                    #expect(await eventually { log.keys.contains(key) }, "tracked by the new owner")
                }
            }
        }
    }
}
