import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

// The cluster client through the executor API every client shares: typed commands, split
// multi-key commands, pipelines, scripts and transactions, against the shared cluster.

/// Code written once for any executor (standalone or cluster): increments and reads back.
func incrementTwice(_ executor: some RedisCommandExecutor, key: String) async throws -> Int {
    try await executor.increment(key)
    return try await executor.increment(key, by: 2)
}

/// Keys `prefix:0..<count`, which spread over every shard.
func spreadKeys(_ prefix: String, _ count: Int) -> [String] {
    let run = UInt32.random(in: 0...UInt32.max)
    return (0..<count).map { "\(prefix):\(run):\($0)" }
}

extension LiveClusterTests {
    @Test("Cluster client: typed commands written for any executor run on the cluster")
    func clusterExecutorTypedCommands() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let key = spreadKeys("exec", 1)[0]
            #expect(try await incrementTwice(client, key: key) == 3)
            _ = try await client.send(HSET("{\(key)}:h", fields: [(field: "f", value: "v")]))
            #expect(try await client.send(HGET("{\(key)}:h", field: "f")).map { String(buffer: $0) } == "v")
            #expect(try await client.ping() == "PONG")
            #expect(try await client.delete(key, "{\(key)}:h") == 2)
        }
    }

    @Test("Cluster client: UNLINK and EXISTS across shards are split by slot and add up")
    func clusterExecutorUnlinkExists() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let keys = spreadKeys("ue", 60)
            for key in keys.prefix(40) { try await client.set(key, to: "v") }
            #expect(try await client.exists(keys + [keys[0]]) == 41)
            #expect(try await client.send(EXISTS(keys)) == 40)
            #expect(try await client.unlink(keys) == 40)
            #expect(try await client.exists(keys) == 0)
        }
    }

    @Test("Cluster client: a pipeline over every shard returns results in the caller's order")
    func clusterExecutorPipeline() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let keys = spreadKeys("pl", 90)
            var commands: [any RedisCommand] = []
            for (index, key) in keys.enumerated() {
                commands.append(SET(key, "v\(index)"))
                commands.append(GET(key))
            }
            commands.append(PING())
            let results = try await client.pipeline(commands)
            #expect(results.count == commands.count)
            for (index, _) in keys.enumerated() {
                let value = try ByteBuffer?(fromRESP: try results[2 * index + 1].get())
                #expect(value.map { String(buffer: $0) } == "v\(index)")
            }
            let topology = try #require(client.topology)
            #expect(Set(keys.compactMap { topology.primary(forKey: $0)?.endpoint }).count == 3)
            #expect(try await client.delete(keys) == keys.count)
        }
    }

    @Test("Cluster client: a script and a transaction on hash-tagged keys run on the slot's node")
    func clusterExecutorScriptAndTransaction() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let tag = spreadKeys("tx", 1)[0]
            let a = "{\(tag)}:a", b = "{\(tag)}:b"
            // A fresh script source each run, so the first call takes the NOSCRIPT fallback.
            let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2]) -- \(tag)")
            #expect(try await client.run(script, keys: [a, b], arguments: ["x"], as: Int.self) == 1)
            #expect(try await client.run(script, keys: [a, b], arguments: ["y"], as: Int.self) == 2)
            let outcome = try await client.transaction([SET(a, "1"), INCRBY(b, by: 10), GET(a)])
            let results = try #require(outcome.results)
            #expect(try Int(fromRESP: results[1].get()) == 12)
            #expect(try String(fromRESP: results[2].get()) == "1")
            #expect(try await client.delete([a, b]) == 2)
        }
    }

    @Test("Cluster client: a cross-slot script, transaction or command is refused before anything is sent")
    func clusterExecutorCrossSlotRefused() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let keys = spreadKeys("xs", 30)
            let a = keys[0]
            let b = try #require(keys.first { HashSlot(key: $0) != HashSlot(key: a) })
            let writeBoth = RedisScript("redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 1); return 1")
            let scriptError = await #expect(throws: RedisError.self) { try await client.run(writeBoth, keys: [a, b]) }
            #expect(scriptError?.code == .crossSlot)
            let transactionError = await #expect(throws: RedisError.self) {
                try await client.transaction([SET(a, "1"), SET(b, "1")])
            }
            #expect(transactionError?.code == .crossSlot)
            let msetError = await #expect(throws: RedisError.self) {
                try await client.send(MSET([(key: a, value: "1"), (key: b, value: "1")]))
            }
            #expect(msetError?.code == .crossSlot)
            #expect(msetError?.description.contains(a) == false)
            // Nothing reached a server: no key was written, no script was cached anywhere.
            #expect(try await client.exists([a, b]) == 0)
            for node in cluster.nodes.prefix(3) {
                try await withConnection(to: node.endpoint) { connection in
                    let cached = try await connection.send(SCRIPTEXISTS([writeBoth.sha1]))
                    #expect(cached == [false])
                }
            }
        }
    }
}

extension LiveClusterTests {
    @Test("Cluster client: WATCH transactions commit, abort on a watched change, and refuse keys of another slot")
    func clusterWatchTransaction() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            let tag = spreadKeys("wtx", 1)[0]
            let balance = "{\(tag)}:balance", log = "{\(tag)}:log"
            try await client.set(balance, to: "10")
            let committed = try await client.transaction(watching: [balance]) { tx in
                let current = try await tx.connection.send(GET(balance)).map { Int(String(buffer: $0)) ?? 0 } ?? 0
                tx.queue(SET(balance, "\(current - 3)"))
                tx.queue(INCRBY(log))
            }
            #expect(committed.isCommitted)
            #expect(try await client.get(balance).map { String(buffer: $0) } == "7")
            let aborted = try await client.transaction(watching: [balance]) { tx in
                try await client.set(balance, to: "100")  // another writer, through the pool
                tx.queue(SET(balance, "0"))
            }
            #expect(!aborted.isCommitted)
            #expect(try await client.get(balance).map { String(buffer: $0) } == "100")

            let other = try #require(spreadKeys("wtx-other", 20).first { HashSlot(key: $0) != HashSlot(key: balance) })
            let queuedElsewhere = await #expect(throws: RedisError.self) {
                try await client.transaction(watching: [balance]) { tx in tx.queue(SET(other, "x")) }
            }
            #expect(queuedElsewhere?.code == .crossSlot)
            let watchedApart = await #expect(throws: RedisError.self) {
                try await client.transaction(watching: [balance, other]) { _ in }
            }
            #expect(watchedApart?.code == .crossSlot)
            #expect(try await client.exists([other]) == 0)
            #expect(try await client.delete([balance, log]) == 2)
        }
    }

    @Test("Cluster client: WATCH follows a MOVED when the slot moved under a stale map")
    func clusterWatchAfterMove() async throws {
        let cluster = try await SharedCluster.get()
        try await withClusterClient(cluster) { client in
            _ = try await client.ping()
            let key = spreadKeys("wmoved", 1)[0]
            try await withSlotMoved(cluster, key: key, topology: try #require(client.topology)) { _, target, connections in
                let movedBefore = client.redirectStatistics.moved
                let outcome = try await client.transaction(watching: [key]) { tx in tx.queue(SET(key, "after-move")) }
                #expect(outcome.isCommitted)
                #expect(client.redirectStatistics.moved > movedBefore)
                let onTarget = try await connections[target.endpoint]!.raw("GET", key)
                #expect(RESPValue(onTarget) == .bulkString("after-move"))
            }
        }
    }
}
