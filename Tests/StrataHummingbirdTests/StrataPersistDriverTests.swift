import Hummingbird
import Redis
import RedisServerHarness
@testable import StrataHummingbird
import Testing

/// The Hummingbird `PersistDriver` over Strata's Redis, against a real `redis-server`.
@Suite struct StrataPersistDriverTests {
    struct Session: Codable, Sendable, Equatable {
        var user: String
        var visits: Int
    }

    @Test func createSetGetRemoveWithExpiries() async throws {
        let prefix = uniquePrefix() + ":"
        try await withRedis { client in
            let persist = StrataPersistDriver(client: client, keyPrefix: prefix, operationTimeout: .seconds(10))
            try await persist.create(key: "s1", value: Session(user: "alice", visits: 1), expires: .seconds(60))
            await #expect(throws: PersistError.duplicate) {
                try await persist.create(key: "s1", value: Session(user: "mallory", visits: 0), expires: nil)
            }
            #expect(try await persist.get(key: "s1", as: Session.self) == Session(user: "alice", visits: 1))

            // `set` without an expiry keeps the existing one.
            try await persist.set(key: "s1", value: Session(user: "alice", visits: 2), expires: nil)
            let withTTL = try #require(try await persist.getWithTTL(key: "s1", as: Session.self))
            #expect(withTTL.object.visits == 2)
            let ttl = try #require(withTTL.ttl)
            #expect(ttl > .seconds(50) && ttl <= .seconds(60))

            try await persist.set(key: "s2", value: Session(user: "bob", visits: 1), expires: nil)
            #expect(try await persist.getWithTTL(key: "s2", as: Session.self)?.ttl == nil)
            await #expect(throws: PersistError.invalidConversion) { try await persist.get(key: "s2", as: Int.self) }

            try await persist.remove(key: "s1")
            #expect(try await persist.get(key: "s1", as: Session.self) == nil)
            #expect(try await persist.getWithTTL(key: "s1", as: Session.self) == nil)
        }
    }
}
