import Logging
import NIOCore
import RESP
import Redis
import RedisServerHarness
import ServiceLifecycle
import StrataRedis

/// The Redis the demo and the consistency checker run against: one node, a Sentinel-managed
/// service, or a Cluster (found by asking the node given, as `strata doctor` does).
enum DemoRedis: Sendable {
    case standalone(RedisConnectionConfiguration)
    case sentinel(RedisSentinelURL)
    case cluster(seeds: [RedisEndpoint], nodes: RedisConnectionConfiguration)

    /// A private or given node at `endpoint`, without credentials.
    static func node(_ endpoint: RedisEndpoint) -> DemoRedis {
        .standalone(RedisConnectionConfiguration(endpoint: endpoint))
    }

    /// Parses `--redis`: `redis://…`/`rediss://…` (a Cluster node means its whole cluster) or
    /// `redis+sentinel://host[:port][,host[:port]…]/service`.
    static func resolve(url: String) async throws -> DemoRedis {
        if let sentinel = RedisSentinelURL(url) { return .sentinel(sentinel) }
        guard let configuration = RedisConnectionConfiguration(url: url) else {
            throw DemoError("cannot parse the Redis URL (expected redis://host:port, rediss://… or redis+sentinel://host:port/service)")
        }
        let probe = try RedisClient(configuration: configuration, logger: DemoEnvironment.quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await probe.run() }
            defer {
                probe.shutdown()
                group.cancelAll()
            }
            let info = DemoRedisAdmin.text(of: try await probe.rawValue(["INFO", "cluster"]))
            return info.contains("cluster_enabled:1") ? .cluster(seeds: [configuration.endpoint], nodes: configuration) : .standalone(configuration)
        }
    }

    /// Runs `body` against the Redis `url` names, or against a private `redis-server` (passed to
    /// `body`, which may restart it) that is stopped afterwards however `body` ends.
    static func withRedis<Result>(
        url: String?, progress: DemoProgress, _ body: (DemoRedis, RedisServer?) async throws -> Result
    ) async throws -> Result {
        if let url {
            let redis = try await resolve(url: url)
            progress.step("using \(redis.description)")
            return try await body(redis, nil)
        }
        let server = try await RedisServer.start()
        progress.step("started a private redis-server on \(server.host):\(server.port) (pid \(server.pid))")
        do {
            let result = try await body(.node(RedisEndpoint(host: server.host, port: server.port)), server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// What the progress line says (never credentials).
    var description: String {
        switch self {
        case .standalone(let configuration): "Redis at \(configuration.endpoint)"
        case .sentinel(let url): "Sentinel service \(url.sentinel.serviceName) via \(url.sentinel.sentinels.map(\.description).joined(separator: ","))"
        case .cluster(let seeds, _): "Redis Cluster via \(seeds.map(\.description).joined(separator: ","))"
        }
    }

    /// A fresh connection stack for one application instance.
    func makeStack(tier: RedisCacheTier.Configuration = .init()) throws -> DemoRedisStack {
        let logger = DemoEnvironment.quietLogger
        switch self {
        case .standalone(let configuration):
            let client = try RedisClient(configuration: configuration, logger: logger)
            return DemoRedisStack(executor: client, tier: try RedisCacheTier(client: client, configuration: tier), busClient: client, services: [client])
        case .sentinel(let url):
            let client = try RedisClient(sentinel: url.sentinel, configuration: url.nodes, logger: logger)
            return DemoRedisStack(executor: client, tier: try RedisCacheTier(client: client, configuration: tier), busClient: client, services: [client])
        case .cluster(let seeds, let nodes):
            let cluster = try RedisClusterClient(seeds: seeds, configuration: nodes, logger: logger)
            // Classic pub/sub reaches every node of a cluster, so the bus can use any one node.
            var busNode = nodes
            busNode.endpoint = seeds[0]
            let bus = try RedisClient(configuration: busNode, logger: logger)
            return DemoRedisStack(
                executor: cluster, tier: try RedisCacheTier(cluster: cluster, configuration: tier), busClient: bus, services: [cluster, bus])
        }
    }

    /// A plain client on another database of the same server; `nil` on a Cluster (database 0 only).
    func makeClient(database: Int) throws -> RedisClient? {
        switch self {
        case .standalone(var configuration):
            configuration.database = database
            return try RedisClient(configuration: configuration, logger: DemoEnvironment.quietLogger)
        case .sentinel(let url):
            var nodes = url.nodes
            nodes.database = database
            return try RedisClient(sentinel: url.sentinel, configuration: nodes, logger: DemoEnvironment.quietLogger)
        case .cluster:
            return nil
        }
    }

    var isCluster: Bool {
        if case .cluster = self { true } else { false }
    }

    /// Connections to every primary, for flushing, pausing and counting commands.
    func makeAdmin() async throws -> DemoRedisAdmin {
        let logger = DemoEnvironment.quietLogger
        switch self {
        case .standalone(let configuration):
            return DemoRedisAdmin(primaries: [try RedisClient(configuration: configuration, logger: logger)])
        case .sentinel(let url):
            return DemoRedisAdmin(primaries: [try RedisClient(sentinel: url.sentinel, configuration: url.nodes, logger: logger)])
        case .cluster(let seeds, let nodes):
            let endpoints = try await Self.clusterPrimaries(seeds: seeds, nodes: nodes)
            return DemoRedisAdmin(primaries: try endpoints.map { endpoint in
                var configuration = nodes
                configuration.endpoint = endpoint
                return try RedisClient(configuration: configuration, logger: logger)
            })
        }
    }

    /// The cluster's primaries, from a short-lived cluster client's slot map.
    private static func clusterPrimaries(seeds: [RedisEndpoint], nodes: RedisConnectionConfiguration) async throws -> [RedisEndpoint] {
        let cluster = try RedisClusterClient(seeds: seeds, configuration: nodes, logger: DemoEnvironment.quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await cluster.run() }
            defer {
                cluster.shutdown()
                group.cancelAll()
            }
            // Any keyed command makes the client read the slot map first.
            _ = try await cluster.rawValue(["EXISTS", "strata:demo:probe"])
            guard let topology = cluster.topology else { throw DemoError("the cluster's slot map could not be read") }
            return topology.shards.compactMap { $0.primary?.endpoint }
        }
    }
}

/// One application instance's Redis connections.
struct DemoRedisStack: Sendable {
    /// Plain commands (the naive setup's GET/SET/DEL).
    let executor: any RedisCommandExecutor
    /// Strata's Redis tier over the same connections.
    let tier: RedisCacheTier
    /// A standalone-style client for pub/sub (the invalidation bus).
    let busClient: RedisClient
    /// What must run while the instance is used.
    let services: [any Service]
}

/// Admin connections to every primary: flush, pause, count commands.
struct DemoRedisAdmin: Sendable {
    let primaries: [RedisClient]

    /// Runs the connections until the task is cancelled.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in primaries { group.addTask { try await client.run() } }
            try await group.waitForAll()
        }
    }

    func shutdown() {
        for client in primaries { client.shutdown() }
    }

    /// Empties every primary so each run starts cold and equal.
    func flushAll() async throws {
        for client in primaries { _ = try await client.rawValue(["FLUSHALL"]) }
    }

    /// Empties the database the connections use (`FLUSHDB`), keeping the others.
    func flushCacheDatabase() async throws {
        for client in primaries { _ = try await client.rawValue(["FLUSHDB"]) }
    }

    /// `total_commands_processed` summed over the primaries, to count round trips per request.
    func commandsProcessed() async throws -> Int {
        var total = 0
        for client in primaries {
            let text = Self.text(of: try await client.rawValue(["INFO", "stats"]))
            for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("total_commands_processed:") {
                total += Int(line.dropFirst("total_commands_processed:".count)) ?? 0
            }
        }
        return total
    }

    /// Makes every primary stop answering other clients for `duration` (`CLIENT PAUSE`, Redis 6.2+).
    func pause(for duration: Duration) async throws {
        for client in primaries {
            _ = try await client.rawValue(["CLIENT", "PAUSE", "\(duration.cacheMilliseconds)", "ALL"])
        }
    }

    /// Closes every other client's connections (`CLIENT KILL TYPE normal SKIPME yes`).
    func killClientConnections() async throws {
        for client in primaries {
            _ = try await client.rawValue(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        }
    }

    static func text(of value: RESPValue) -> String {
        switch value {
        case .bulkString(let buffer): String(buffer: buffer)
        case .verbatimString(_, let text): text
        default: ""
        }
    }
}
