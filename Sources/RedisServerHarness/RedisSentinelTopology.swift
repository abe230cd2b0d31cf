import Foundation
import Synchronization

/// A private Redis Sentinel set-up for tests: one primary, its replicas and the Sentinels that
/// monitor them, each process a ``RedisServer``.
///
/// ```swift
/// try await RedisSentinelTopology.withTopology { topology in
///     // seed a Sentinel-aware client with topology.sentinelEndpoints and topology.serviceName
///     let oldPort = topology.primary.port
///     await topology.primary.kill()
///     let newPort = try await topology.waitForFailover(from: oldPort)
/// }
/// ```
///
/// Data nodes run with `repl-diskless-sync-delay 0` (and `masterauth` when they have a
/// password); replicas start with `--replicaof 127.0.0.1 <primary port>`. Sentinels are started
/// once every replica is in sync, each as `redis-server <dir>/sentinel.conf --sentinel` with its
/// own writable configuration file (Sentinel rewrites it) holding `sentinel monitor`,
/// `down-after-milliseconds`, `failover-timeout`, `parallel-syncs` and the passwords. Ready
/// means (see ``waitUntilReady(timeout:)``): every replica reports `master_link_status:up`, and
/// every Sentinel names the primary, lists every replica and sees every other Sentinel. About
/// 2–3 s with the defaults (Sentinels find each other through hello messages sent every 2 s);
/// a killed primary is replaced in about 2.3 s.
public final class RedisSentinelTopology: Sendable {
    /// How to build the topology.
    public struct Options: Sendable, Hashable {
        /// The name Sentinels monitor the primary under (`sentinel monitor <name> ...`).
        public var serviceName: String
        /// How many replicas the primary gets.
        public var replicas: Int
        /// How many Sentinels monitor it.
        public var sentinels: Int
        /// How many Sentinels must agree that the primary is down before a failover.
        public var quorum: Int
        /// `sentinel down-after-milliseconds`: how long a node may not answer before it is
        /// considered down (whole milliseconds).
        public var downAfter: Duration
        /// `sentinel failover-timeout` (whole milliseconds).
        public var failoverTimeout: Duration
        /// `sentinel parallel-syncs`: how many replicas resync with a new primary at once.
        public var parallelSyncs: Int
        /// Options for every data node (primary and replicas). Its ``RedisServer/Options/password``
        /// is the data-node password: `requirepass` on every data node, `masterauth` (so replicas,
        /// including a demoted primary, can sync) and `sentinel auth-pass` for the Sentinels.
        /// TLS is not supported yet.
        public var node: RedisServer.Options
        /// `requirepass` on the Sentinels themselves, also given to them as `sentinel
        /// sentinel-pass`, which they use to talk to each other. `RedisServer.command(_:)`
        /// on a Sentinel authenticates with it.
        public var sentinelPassword: String?
        /// How long start-up may take until the whole topology is ready.
        public var readyTimeout: Duration

        /// Creates options; the default is 1 primary, 2 replicas and 3 Sentinels with quorum 2,
        /// monitoring `mymaster` with a 1-second down-after and a 2-second failover timeout.
        public init(
            serviceName: String = "mymaster",
            replicas: Int = 2,
            sentinels: Int = 3,
            quorum: Int = 2,
            downAfter: Duration = .seconds(1),
            failoverTimeout: Duration = .seconds(2),
            parallelSyncs: Int = 1,
            node: RedisServer.Options = .init(),
            sentinelPassword: String? = nil,
            readyTimeout: Duration = .seconds(30)
        ) {
            self.serviceName = serviceName
            self.replicas = replicas
            self.sentinels = sentinels
            self.quorum = quorum
            self.downAfter = downAfter
            self.failoverTimeout = failoverTimeout
            self.parallelSyncs = parallelSyncs
            self.node = node
            self.sentinelPassword = sentinelPassword
            self.readyTimeout = readyTimeout
        }
    }

    /// The options the topology was built with.
    public let options: Options
    /// The data nodes in creation order: the first one started as the primary, the others as
    /// its replicas. Killed and stopped nodes stay in the list. A restarted node runs its
    /// original command line again (a replica follows the first primary's port, the first
    /// primary starts as a primary) until the Sentinels reconfigure it, about 10 s later.
    public let dataNodes: [RedisServer]
    /// The Sentinels, in creation order.
    public let sentinels: [RedisServer]

    /// The index in ``dataNodes`` of the primary, as last reported by the Sentinels.
    let primaryIndex = Mutex(0)

    /// The name the Sentinels monitor the primary under.
    public var serviceName: String { options.serviceName }

    /// The primary, as last reported by the Sentinels: the first data node until
    /// ``waitForFailover(from:timeout:)``, ``currentPrimaryPort()`` or ``waitUntilReady(timeout:)``
    /// observes another one. (It may have been killed since.)
    public var primary: RedisServer { dataNodes[primaryIndex.withLock { $0 }] }

    /// Every data node except ``primary``, running or not (after a failover this includes the
    /// killed former primary).
    public var replicas: [RedisServer] {
        let index = primaryIndex.withLock { $0 }
        return dataNodes.enumerated().filter { $0.offset != index }.map(\.element)
    }

    /// Each Sentinel's address, for seeding a Sentinel-aware client.
    public var sentinelEndpoints: [(host: String, port: Int)] { sentinels.map { ($0.host, $0.port) } }

    init(options: Options, dataNodes: [RedisServer], sentinels: [RedisServer]) {
        self.options = options
        self.dataNodes = dataNodes
        self.sentinels = sentinels
    }

    // MARK: Starting and stopping

    /// Starts the primary, then the replicas, waits until they are in sync, starts the Sentinels
    /// and waits until the whole topology is ready (see the type's docs).
    ///
    /// - Throws: ``RedisServerError`` when a process fails to start or the topology is not ready
    ///   within ``Options/readyTimeout`` (everything started is stopped first).
    public static func start(_ options: Options = .init()) async throws -> RedisSentinelTopology {
        try validate(options)
        let deadline = ContinuousClock.now + options.readyTimeout
        var nodeOptions = options.node
        nodeOptions.port = nil
        nodeOptions.arguments = (options.node.password.map { ["--masterauth", $0] } ?? []) + options.node.arguments

        let primary = try await RedisServer.start(nodeOptions)
        var replicaOptions = nodeOptions
        replicaOptions.arguments += ["--replicaof", primary.host, String(primary.port)]
        let replicas: [RedisServer]
        do {
            let startOptions = replicaOptions
            replicas = try await startAll(options.replicas) { try await RedisServer.start(startOptions) }
        } catch {
            await primary.stop()
            throw error
        }

        // Sentinels learn about replicas from the primary's INFO, which they ask for every 10 s:
        // start them only once the primary lists every replica, so they see all at once.
        let partial = RedisSentinelTopology(options: options, dataNodes: [primary] + replicas, sentinels: [])
        do {
            try await partial.waitUntilReplicated(deadline: deadline)
        } catch {
            await partial.stop()
            throw error
        }

        let config = sentinelConfiguration(options, primaryPort: primary.port)
        let sentinelOptions = RedisServer.Options(
            enableDebugCommand: false, password: options.sentinelPassword,
            startupTimeout: options.node.startupTimeout, stopGracePeriod: options.node.stopGracePeriod,
            executable: options.node.executable)
        let sentinels: [RedisServer]
        do {
            sentinels = try await startAll(options.sentinels) {
                try await RedisServer.start(sentinelOptions, sentinelConfig: config)
            }
        } catch {
            await partial.stop()
            throw error
        }

        let topology = RedisSentinelTopology(options: options, dataNodes: partial.dataNodes, sentinels: sentinels)
        do {
            try await topology.waitUntilReady(timeout: max(deadline - ContinuousClock.now, .zero))
        } catch {
            await topology.stop()
            throw error
        }
        return topology
    }

    /// Starts a topology, runs `body` with it, and stops every process however `body` ends.
    public static func withTopology<T>(
        _ options: Options = .init(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisSentinelTopology) async throws -> T
    ) async throws -> T {
        let topology = try await start(options)
        do {
            let result = try await body(topology)
            await topology.stop()
            return result
        } catch {
            await topology.stop()
            throw error
        }
    }

    /// Stops every process by pid (the Sentinels first, so they start no failover meanwhile;
    /// each group in parallel), reaping each and removing its directory. Idempotent.
    public func stop() async {
        await Self.stopAll(sentinels)
        await Self.stopAll(dataNodes)
    }

    /// Kills the current ``primary`` with SIGKILL (a crash) and returns the port it served, for
    /// ``waitForFailover(from:timeout:)``.
    @discardableResult
    public func killPrimary() async -> Int {
        let node = primary
        let port = node.port
        await node.kill()
        return port
    }

    // MARK: Helpers

    private static func stopAll(_ servers: [RedisServer]) async {
        await withTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { await server.stop() } }
        }
    }

    /// Starts `count` servers in parallel; on failure stops those that did start.
    private static func startAll(
        _ count: Int, _ start: @escaping @Sendable () async throws -> RedisServer
    ) async throws -> [RedisServer] {
        try await withThrowingTaskGroup(of: RedisServer.self) { group in
            for _ in 0..<count { group.addTask { try await start() } }
            var started: [RedisServer] = []
            var firstError: (any Error)?
            while let result = await group.nextResult() {
                switch result {
                case .success(let server): started.append(server)
                case .failure(let error): firstError = firstError ?? error
                }
            }
            if let firstError {
                await stopAll(started)
                throw firstError
            }
            return started
        }
    }

    private static func validate(_ options: Options) throws {
        var problems: [String] = []
        if options.node.tls { problems.append("TLS Sentinel topologies are not supported by the harness yet") }
        if options.replicas < 0 { problems.append("replicas must not be negative") }
        if options.sentinels < 1 { problems.append("at least one Sentinel is needed") }
        if !(1...max(options.sentinels, 1)).contains(options.quorum) {
            problems.append("quorum must be between 1 and the number of Sentinels")
        }
        if options.serviceName.isEmpty || options.serviceName.contains(where: { $0.isWhitespace || $0 == "\"" }) {
            problems.append("the service name must be a non-empty word")
        }
        if options.downAfter < .milliseconds(1) || options.failoverTimeout < .milliseconds(1) {
            problems.append("downAfter and failoverTimeout must be at least 1 ms")
        }
        guard problems.isEmpty else {
            throw RedisServerError.topologyNotReady("invalid options: " + problems.joined(separator: "; "))
        }
    }

    /// The first lines of each Sentinel's configuration file.
    static func sentinelConfiguration(_ options: Options, primaryPort: Int) -> String {
        let name = options.serviceName
        var lines = [
            "sentinel monitor \(name) 127.0.0.1 \(primaryPort) \(options.quorum)",
            "sentinel down-after-milliseconds \(name) \(milliseconds(options.downAfter))",
            "sentinel failover-timeout \(name) \(milliseconds(options.failoverTimeout))",
            "sentinel parallel-syncs \(name) \(options.parallelSyncs)",
            "sentinel resolve-hostnames no",
            "sentinel announce-hostnames no",
        ]
        if let password = options.node.password {
            lines.append("sentinel auth-pass \(name) \(quoted(password))")
        }
        if let password = options.sentinelPassword {
            lines.append("sentinel sentinel-pass \(quoted(password))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// A configuration-file string literal (`"..."` with `\"`, `\\` and `\xHH` escapes).
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): result += "\\\""
            case UInt8(ascii: "\\"): result += "\\\\"
            case 0x20...0x7e: result.unicodeScalars.append(UnicodeScalar(byte))
            default: result += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return result + "\""
    }
}
