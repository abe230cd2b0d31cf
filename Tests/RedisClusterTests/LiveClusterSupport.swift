import NIOCore
import RESP
import Redis
import RedisServerHarness
import Testing

/// The one cluster every live test shares, started on first use (3–4 s) and killed by the
/// harness's exit handler when the test process ends. Tests that change node settings or slot
/// states put them back before returning; the live suite is serialized.
enum SharedCluster {
    private static let start = Task { try await RedisCluster.start() }

    /// The running cluster.
    static func get() async throws -> RedisCluster { try await start.value }
}

extension RedisServer {
    /// This node's endpoint for a Strata connection.
    var endpoint: RedisEndpoint { RedisEndpoint(host: host, port: port) }
}

/// Connects to `endpoint`, runs `body`, and closes the connection however `body` ends.
func withConnection<T>(
    to endpoint: RedisEndpoint, protocolVersion: RedisProtocolVersion = .resp3,
    _ body: (RedisConnection) async throws -> T
) async throws -> T {
    let connection = try await RedisConnection.connect(
        configuration: RedisConnectionConfiguration(endpoint: endpoint, protocolVersion: protocolVersion)
    )
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

/// Connections to several endpoints at once, closed afterwards.
func withConnections<T>(
    to endpoints: [RedisEndpoint], _ body: ([RedisEndpoint: RedisConnection]) async throws -> T
) async throws -> T {
    var connections: [RedisEndpoint: RedisConnection] = [:]
    do {
        for endpoint in endpoints {
            connections[endpoint] = try await RedisConnection.connect(configuration: RedisConnectionConfiguration(endpoint: endpoint))
        }
        let result = try await body(connections)
        for connection in connections.values { await connection.close() }
        return result
    } catch {
        for connection in connections.values { await connection.close() }
        throw error
    }
}

extension RedisConnection {
    /// Sends a raw command.
    @discardableResult
    func raw(_ arguments: String...) async throws -> RESPToken {
        try await send(RawCommand(arguments))
    }
}

/// A small seeded generator (SplitMix64), so a failing random key can be reproduced.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random keys of 0–24 characters, rich in `{` and `}` so that hash tags of every shape occur,
/// with multi-byte UTF-8 characters mixed in.
func randomKeys(_ count: Int, using generator: inout SeededGenerator) -> [String] {
    let alphabet: [Character] = Array("abcxyz0189:._-{}{}{}") + ["é", "€", "🚀", " ", "{", "}"]
    return (0..<count).map { _ in
        String((0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
