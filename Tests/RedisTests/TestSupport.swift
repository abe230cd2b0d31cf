import Logging
import NIOCore
import Redis
import RedisServerHarness
import Synchronization
import Testing

/// Connection settings for a harness server.
func configuration(
    for server: RedisServer, protocolVersion: RedisProtocolVersion = .resp3, commandTimeout: TimeAmount = .seconds(5)
) -> RedisConnectionConfiguration {
    RedisConnectionConfiguration(
        endpoint: RedisEndpoint(host: server.host, port: server.port), protocolVersion: protocolVersion,
        commandTimeout: commandTimeout
    )
}

/// Runs `body` with a running client and shuts it down afterwards, also when `body` throws.
func withClient<T: Sendable>(
    _ configuration: RedisConnectionConfiguration,
    pool: RedisPoolConfiguration = RedisPoolConfiguration(),
    metrics: RedisMetrics = RedisMetrics(),
    _ body: @Sendable (RedisClient) async throws -> T
) async throws -> T {
    let client = try RedisClient(configuration: configuration, pool: pool, metrics: metrics)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await client.run()
            return nil
        }
        let result: T
        do {
            result = try await body(client)
        } catch {
            client.shutdown()
            throw error
        }
        client.shutdown()
        try await group.waitForAll()
        return result
    }
}

/// The server every read/write test shares; each test uses its own key prefix.
func sharedServer() async throws -> RedisServer {
    try await RedisServer.shared(named: "redis-tests")
}

/// A server of the calling test's own, for tests that block it (`DEBUG SLEEP`): blocking a shared
/// one would stall every other test's commands. The harness kills it when the object goes away.
func blockingServer() async throws -> RedisServer {
    try await RedisServer.start()
}

/// A key prefix unique to one test.
func uniquePrefix(_ name: String = #function) -> String {
    "test:\(name.prefix { $0 != "(" }):\(UInt32.random(in: 0...UInt32.max)):"
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(
    timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

extension ByteBuffer {
    var text: String { String(buffer: self) }
}

/// A value shared between test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
