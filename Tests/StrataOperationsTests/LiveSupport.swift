import NIOCore
import RESP
import Redis
import RedisServerHarness

extension RedisServer {
    /// This server's endpoint.
    var endpoint: RedisEndpoint { RedisEndpoint(host: host, port: port) }

    /// Connection settings for this server, optionally as an ACL user.
    func configuration(username: String? = nil, password: String? = nil) -> RedisConnectionConfiguration {
        RedisConnectionConfiguration(endpoint: endpoint, username: username, password: password, commandTimeout: .seconds(10))
    }
}

/// Connects to `configuration`, runs `body`, and closes the connection however `body` ends.
func withConnection<T>(
    _ configuration: RedisConnectionConfiguration, _ body: (RedisConnection) async throws -> T
) async throws -> T {
    try await RedisConnection.connect(configuration: configuration).closing(body)
}

/// Starts a private server with extra configuration, runs `body`, and stops it.
func withPrivateServer<T>(_ arguments: [String] = [], password: String? = nil, users: [RedisServer.ACLUser] = [], _ body: (RedisServer) async throws -> T) async throws -> T {
    try await RedisServer.withServer(.init(enableDebugCommand: false, password: password, users: users, arguments: arguments), body)
}

/// `SET key value` with binary-safe key and value.
struct BinarySet: RedisCommand {
    typealias Response = RedisOK
    static var name: String { "SET" }
    var key: ByteBuffer
    var value: ByteBuffer
    func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("SET", key, value) }
}

/// `GET key` with a binary-safe key.
struct BinaryGet: RedisCommand {
    typealias Response = ByteBuffer?
    static var name: String { "GET" }
    var key: ByteBuffer
    func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("GET", key) }
}

extension RedisConnection {
    /// Writes many commands in one pipeline and fails on the first error reply.
    func load(_ commands: [[String]]) async throws {
        for chunk in stride(from: 0, to: commands.count, by: 500) {
            let results = try await pipeline(commands[chunk..<min(chunk + 500, commands.count)].map { RawCommand($0) as any RedisCommand })
            for result in results { _ = try result.get() }
        }
    }

    /// `DBSIZE`.
    func keyCount() async throws -> Int { try Int(fromRESP: try await send(RawCommand(["DBSIZE"]))) }
}
