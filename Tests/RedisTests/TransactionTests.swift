import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

@Suite("Transactions: MULTI/EXEC/DISCARD with WATCH on a pinned connection")
struct TransactionTests {
    @Test("a watched transaction reads on its pinned connection and commits every queued command")
    func watchedTransactionCommits() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "balance", to: 100)
            let outcome = try await client.transaction(watching: [p + "balance"]) { tx in
                let balance = Int(try await tx.connection.get(p + "balance")?.text ?? "") ?? 0
                tx.queue(SET(p + "balance", balance - 30))
                tx.queue(INCRBY(p + "withdrawals"))
            }
            guard case .committed(let results) = outcome else {
                Issue.record("nothing changed the key: expected a commit")
                return
            }
            #expect(results.count == 2)
            #expect(RESPValue(try results[0].get()) == .simpleString("OK"))
            #expect(try results[1].get().value == .integer(1))
            #expect(try await client.get(p + "balance")?.text == "70")
        }
    }

    @Test("a watched key modified by another connection between WATCH and EXEC aborts the transaction", arguments: [RedisProtocolVersion.resp3, .resp2])
    func concurrentWriteAborts(protocolVersion: RedisProtocolVersion) async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server, protocolVersion: protocolVersion)) { client in
            try await client.set(p + "k", to: "original")
            let outcome = try await client.transaction(watching: [p + "k"]) { tx in
                #expect(try await tx.connection.get(p + "k")?.text == "original")
                try await client.set(p + "k", to: "theirs")  // another (pooled) connection writes
                tx.queue(SET(p + "k", "mine"))
                tx.queue(SET(p + "side-effect", "x"))
            }
            guard case .aborted = outcome else {
                Issue.record("the watched key changed: expected .aborted, got \(outcome)")
                return
            }
            #expect(!outcome.isCommitted)
            #expect(try await client.get(p + "k")?.text == "theirs")
            #expect(try await client.get(p + "side-effect") == nil)
        }
    }

    @Test("keys watched from inside the body also abort the transaction when changed")
    func watchInsideTheBody() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "pointer", to: p + "target")
            let outcome = try await client.transaction(watching: [p + "pointer"]) { tx in
                let target = try #require(try await tx.connection.get(p + "pointer")).text
                try await tx.watch([target])
                try await client.set(target, to: "changed")
                tx.queue(SET(target, "mine"))
            }
            #expect(outcome.results == nil)
            #expect(try await client.get(p + "target")?.text == "changed")
        }
    }

    @Test("a queued command the server rejects (wrong arity) throws execAbort and nothing runs")
    func queueErrorThrowsExecAbort() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            do {
                _ = try await client.transaction(watching: [p + "k"]) { tx in
                    tx.queue(SET(p + "k", "1"))
                    tx.queue(RawCommand(["SET", p + "k"]))  // wrong number of arguments
                    tx.queue(INCRBY(p + "n"))
                }
                Issue.record("expected EXECABORT")
            } catch let error as RedisError {
                #expect(error.code == .execAbort)
                #expect(error.command == "EXEC")
                let rejected = try #require(error.underlying as? RedisError)
                #expect(rejected.code == .err)
                #expect(rejected.command == "RAW")
            }
            #expect(try await client.get(p + "k") == nil)
            #expect(try await client.get(p + "n") == nil)
            // The same through the unwatched, pooled form.
            await #expect(throws: RedisError.self) {
                _ = try await client.transaction([SET(p + "k", "1"), RawCommand(["INCR"])])
            }
            #expect(try await client.get(p + "k") == nil)
        }
    }

    @Test("a command that fails while EXEC runs fails alone; the others are applied")
    func runtimeErrorIsPerCommand() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server)) { client in
            try await client.set(p + "s", to: "not a number")
            let outcome = try await client.transaction(watching: [p + "s"]) { tx in
                tx.queue(SET(p + "a", "1"))
                tx.queue(INCRBY(p + "s"))
                tx.queue(HGET(p + "s", field: "f"))
                tx.queue(INCRBY(p + "a", by: 5))
            }
            let results = try #require(outcome.results)
            #expect(results.count == 4)
            guard case .failure(let incrError) = results[1], case .failure(let hgetError) = results[2] else {
                Issue.record("INCR and HGET on a string must fail inside EXEC")
                return
            }
            #expect(incrError.code == .err)
            #expect(incrError.command == "INCRBY")
            #expect(hgetError.code == .wrongType)
            #expect(hgetError.command == "HGET")
            #expect(try results[3].get().value == .integer(6))
            #expect(try await client.get(p + "a")?.text == "6")
        }
    }

    @Test("a body that throws unwatches and sends nothing; an empty body commits nothing")
    func throwingAndEmptyBodies() async throws {
        struct Declined: Error {}
        let server = try await sharedServer()
        let p = uniquePrefix()
        let connection = try await RedisConnection.connect(configuration: configuration(for: server))
        await #expect(throws: Declined.self) {
            _ = try await connection.transaction(watching: [p + "k"]) { tx in
                tx.queue(SET(p + "k", "1"))
                throw Declined()
            }
        }
        #expect(try await connection.get(p + "k") == nil)
        let empty = try await connection.transaction(watching: [p + "k"]) { _ in }
        #expect(empty.results?.isEmpty == true)
        // The connection is clean: a write elsewhere does not abort a later unwatched transaction.
        let other = try await RedisConnection.connect(configuration: configuration(for: server))
        try await other.set(p + "k", to: "elsewhere")
        let outcome = try await connection.transaction([SET(p + "k", "2")])
        #expect(outcome.isCommitted)
        #expect(try await connection.get(p + "k")?.text == "2")
        await connection.close()
        await other.close()
    }

    @Test("unwatched transactions on a shared pooled client stay atomic among concurrent commands")
    func pooledTransactionsAreContiguous() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        try await withClient(configuration(for: server), pool: RedisPoolConfiguration(maximumConnections: 2)) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let outcome = try await client.transaction([INCRBY(p + "a"), INCRBY(p + "b"), GET(p + "a"), GET(p + "b")])
                        let results = try #require(outcome.results)
                        // Nothing else ran between the two increments, so both counters agree.
                        #expect(RESPValue(try results[2].get()) == RESPValue(try results[3].get()))
                    }
                    group.addTask { try await client.set(p + "noise\(index)", to: index) }
                }
                try await group.waitForAll()
            }
            #expect(try await client.mget([p + "a", p + "b"]).map { $0?.text } == ["50", "50"])
        }
    }

    @Test("DISCARD drops queued commands on a connection used by hand")
    func discardByHand() async throws {
        let server = try await sharedServer()
        let p = uniquePrefix()
        let connection = try await RedisConnection.connect(configuration: configuration(for: server))
        _ = try await connection.send(MULTI())
        #expect(RESPValue(try await connection.send(RawCommand(["SET", p + "k", "v"]))) == .simpleString("QUEUED"))
        _ = try await connection.send(DISCARD())
        #expect(try await connection.get(p + "k") == nil)
        await connection.close()
    }
}
