import Foundation
import Glibc
import Synchronization

/// A private `redis-server` child process for tests and benchmarks.
///
/// ```swift
/// try await RedisServer.withServer { server in
///     // connect to server.host:server.port
/// }
/// ```
///
/// Each server runs in the foreground as a child of this process (never daemonized), bound to
/// 127.0.0.1 on a free port whose Cluster bus port (`port + 10000`) is free too, with no
/// persistence and a fresh directory. It is ready when it answers `PING`. ``stop()`` kills it by
/// pid and reaps it, leaving no zombie; servers still running at exit are killed by an `atexit`
/// handler, and by the kernel if this process dies abruptly (see ``ChildProcess``).
///
/// Lifecycle methods (``stop()``, ``kill()``, ``restart(onPort:)``, ``pause()``, ``resume()``) are
/// safe to call from any task, but are meant to be called by one owner at a time.
public final class RedisServer: Sendable {
    /// The address the server listens on: always `127.0.0.1`.
    public let host = "127.0.0.1"
    /// The options it was started with.
    public let options: Options
    /// Its working directory (`--dir`), also holding `redis.log`. Removed by ``stop()``.
    public let directory: String
    /// The certificate files when ``Options/tls`` is on.
    public let tlsFiles: TLSFiles?
    /// The resolved path of `redis-server`.
    let executablePath: String
    /// For a Sentinel, its configuration file (inside ``directory``; Sentinel rewrites it).
    let sentinelConfigFile: String?

    struct State {
        var pid: pid_t?
        var lastPID: pid_t = 0
        var port: Int
        /// Whether `port` came from ``PortAllocator`` (and goes back to it when the server stops).
        var ownsPort = false
        var paused = false
        var directoryRemoved = false
        var finalLogTail = ""
    }

    let state: Mutex<State>

    /// The port clients connect to (the TLS port for TLS servers). May change on ``restart(onPort:)``.
    public var port: Int { state.withLock { $0.port } }

    /// The TLS port, for TLS servers (equal to ``port``; the plain port is disabled).
    public var tlsPort: Int? { tlsFiles == nil ? nil : port }

    /// The CA certificate that signed the server's certificate, for TLS servers.
    public var caCertificatePath: String? { tlsFiles?.caCertificatePath }

    /// The process id of the current (or, once stopped, the last) server process.
    public var pid: Int32 { state.withLock { $0.lastPID } }

    /// Whether a server process is running (possibly paused).
    public var isRunning: Bool { state.withLock { $0.pid != nil } }

    /// The server's log file (its standard output and error), appended to across restarts.
    public var logPath: String { "\(directory)/redis.log" }

    /// Whether this process runs in Sentinel mode (see ``RedisSentinelTopology``). A Sentinel
    /// answers `PING`, `INFO` and `SENTINEL ...`, not data commands.
    public var isSentinel: Bool { sentinelConfigFile != nil }

    /// A Sentinel's configuration file, which it rewrites as it learns the topology (and reads
    /// again on ``restart(onPort:)``); nil for a data node.
    public var sentinelConfigPath: String? { sentinelConfigFile }

    init(
        options: Options, executablePath: String, directory: String, tlsFiles: TLSFiles?, port: Int,
        sentinelConfigFile: String? = nil
    ) {
        self.options = options
        self.executablePath = executablePath
        self.directory = directory
        self.tlsFiles = tlsFiles
        self.sentinelConfigFile = sentinelConfigFile
        self.state = Mutex(State(port: port))
    }

    deinit {
        // Last resort for a server that was never stopped: kill it, blocking briefly.
        let pid = state.withLock { $0.pid }
        if let pid {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            ProcessRegistry.unregister(pid)
        }
        if !state.withLock({ $0.directoryRemoved }) {
            try? FileManager.default.removeItem(atPath: directory)
            let (port, owned) = state.withLock { ($0.port, $0.ownsPort) }
            if owned { PortAllocator.release(port) }
        }
    }

    // MARK: Starting

    /// Starts a server and waits until it answers `PING`.
    ///
    /// - Throws: ``RedisServerError`` when `redis-server` (or `openssl`, for TLS) is missing, or
    ///   the server exits or does not answer within ``Options/startupTimeout``; the error carries
    ///   the server's log tail.
    public static func start(_ options: Options = .init()) async throws -> RedisServer {
        try await start(options, sentinelConfig: nil)
    }

    /// Starts a data node, or, when `sentinelConfig` is given, a Sentinel
    /// (`redis-server <dir>/sentinel.conf --sentinel ...`) whose configuration file starts with
    /// that text. Ready means answering `PING` either way.
    static func start(_ options: Options, sentinelConfig: String?) async throws -> RedisServer {
        guard let executablePath = ChildProcess.findExecutable(options.executable) else {
            throw RedisServerError.executableNotFound(options.executable)
        }
        let tlsFiles = options.tls ? try await TLSFiles.harnessDefault() : nil
        let directory = try HarnessDirectory.makeDirectory(named: sentinelConfig == nil ? "redis" : "sentinel")
        var configFile: String?
        if let sentinelConfig {
            let path = "\(directory)/sentinel.conf"
            do {
                try sentinelConfig.write(toFile: path, atomically: false, encoding: .utf8)
            } catch {
                try? FileManager.default.removeItem(atPath: directory)
                throw RedisServerError.spawnFailed(command: "write \(path)", reason: "\(error)")
            }
            configFile = path
        }
        let server = RedisServer(
            options: options, executablePath: executablePath, directory: directory, tlsFiles: tlsFiles,
            port: options.port ?? 0, sentinelConfigFile: configFile)
        do {
            try await server.launch(fixedPort: options.port)
        } catch {
            await server.stop()
            throw error
        }
        return server
    }

    /// Starts a server, runs `body` with it, and stops the server however `body` ends.
    public static func withServer<T>(
        _ options: Options = .init(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisServer) async throws -> T
    ) async throws -> T {
        let server = try await start(options)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Reserves a free port (and its bus port) in the harness's range, e.g. to restart a server
    /// elsewhere. The port is not handed out again in this process.
    public static func freePort() throws -> Int {
        try PortAllocator.reserve()
    }

    /// Spawns the process on `fixedPort`, or on a fresh port (retrying when another process
    /// takes it first), and waits until it is ready.
    func launch(fixedPort: Int?) async throws {
        let maxAttempts = fixedPort == nil ? 8 : 1
        for attempt in 1...maxAttempts {
            let port = try fixedPort ?? PortAllocator.reserve()
            let logOffset = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
            var arguments = Self.commandLine(options: options, port: port, directory: directory, tls: tlsFiles)
            if let sentinelConfigFile {
                // The file must come first; `--sentinel` switches modes, the rest is appended to it.
                arguments = [sentinelConfigFile, "--sentinel"] + arguments
            }
            let pid = try await ChildProcess.spawnServer(
                executable: executablePath, arguments: arguments, output: .file(logPath))
            ProcessRegistry.register(pid)
            state.withLock {
                $0.pid = pid
                $0.lastPID = pid
                $0.port = port
                if fixedPort == nil { $0.ownsPort = true }
                $0.paused = false
                $0.directoryRemoved = false
            }
            do {
                try await waitUntilReady(pid: pid, port: port)
                return
            } catch let error as RedisServerError {
                if case .exitedDuringStartup = error, attempt < maxAttempts,
                    logText(from: logOffset).contains("Address already in use")
                {
                    PortAllocator.release(port)
                    state.withLock { $0.ownsPort = false }
                    continue
                }
                throw error
            }
        }
    }

    /// Polls every 10 ms until the server answers, it exits, or the start-up timeout passes.
    private func waitUntilReady(pid: pid_t, port: Int) async throws {
        let deadline = ContinuousClock.now + options.startupTimeout
        while true {
            if let status = ChildProcess.reapIfExited(pid) {
                forget(pid)
                throw RedisServerError.exitedDuringStartup(
                    port: port, status: ChildProcess.describe(status: status), logTail: logTail())
            }
            if await isReady(port: port, pid: pid) { return }
            if Task.isCancelled {
                await ChildProcess.killAndReap(pid)
                forget(pid)
                throw CancellationError()
            }
            if ContinuousClock.now >= deadline {
                await ChildProcess.killAndReap(pid)
                forget(pid)
                throw RedisServerError.startupTimedOut(port: port, timeout: options.startupTimeout, logTail: logTail())
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// One readiness probe.
    ///
    /// - Plain servers: a raw TCP connection gets `+PONG` to `PING` (after `AUTH` when a password
    ///   is set; `-NOAUTH` also counts, for ACL set-ups whose default user is off).
    /// - TLS servers: the harness speaks no TLS itself; once the port listens, it confirms with
    ///   `redis-cli --tls --cacert <ca> PING` (one spawn).
    ///
    /// Either way the listening socket must belong to this very process (`/proc/net/tcp`'s inode
    /// for the port is among `/proc/PID/fd`): otherwise a server about to fail with "Address
    /// already in use" could pass the probe through another process's server on that port.
    private func isReady(port: Int, pid: pid_t) async -> Bool {
        if let tlsFiles {
            guard PortAllocator.isListening(port, byProcess: pid) else { return false }
            var argv = ["redis-cli", "--tls", "--cacert", tlsFiles.caCertificatePath, "-h", host, "-p", String(port)]
            if let password = options.password { argv += ["-a", password, "--no-auth-warning"] }
            guard let result = try? await ChildProcess.run(argv + ["PING"], timeout: .seconds(5)) else { return false }
            return result.output.contains("PONG") || result.output.contains("NOAUTH")
        }
        guard let connection = try? RawConnection(port: port, timeout: .seconds(1)) else { return false }
        if let password = options.password {
            _ = try? connection.command(["AUTH", password])
        }
        let answered: Bool
        switch try? connection.command(["PING"]) {
        case .status("PONG"): answered = true
        case .error(let message) where message.hasPrefix("NOAUTH"): answered = true
        default: answered = false
        }
        return answered && PortAllocator.isListening(port, byProcess: pid)
    }

    private func forget(_ pid: pid_t) {
        ProcessRegistry.unregister(pid)
        state.withLock { if $0.pid == pid { $0.pid = nil } }
    }

    // MARK: Logs and commands

    /// The last `lines` lines of the server's log (kept after ``stop()`` removes the directory).
    public func logTail(lines: Int = 40) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else {
            return state.withLock { $0.finalLogTail }
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1)
            .joined(separator: "\n")
    }

    private func logText(from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: logPath), offset <= data.count else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }

    /// Runs one command over a new plain-TCP connection (authenticating with ``Options/password``)
    /// and returns the reply, read by the harness's small RESP2 reader.
    ///
    /// Blocking, with a 2-second timeout. Meant for setting up and inspecting servers in tests
    /// (`CONFIG SET`, `INFO`, `CLUSTER NODES`), not for the code under test. Not for TLS servers.
    public func command(_ arguments: String...) throws -> RedisReply {
        try command(arguments)
    }

    /// Runs one command given as an array; see the variadic form.
    public func command(_ arguments: [String]) throws -> RedisReply {
        guard tlsFiles == nil else {
            throw RedisServerError.connectionFailed(port: port, reason: "the harness speaks no TLS; use redis-cli")
        }
        guard isRunning else { throw RedisServerError.notRunning }
        let connection = try RawConnection(port: port)
        if let password = options.password {
            _ = try connection.command(["AUTH", password])
        }
        return try connection.command(arguments)
    }
}

extension RedisServer {
    /// How many times this server has executed `command` since it started (the `calls` field of
    /// `INFO commandstats`; 0 when it never ran). Commands a replica applies from its primary's
    /// replication stream count too, so compare read commands, not writes.
    ///
    /// Blocking, like `command(_:)`; for telling which node served what in tests.
    public func commandCalls(_ command: String) throws -> Int {
        guard case .bulk(let text?) = try self.command("INFO", "commandstats") else { return 0 }
        let prefix = "cmdstat_\(command.lowercased()):calls="
        let line = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }
        let field = line?.split(separator: ",").first { $0.hasPrefix(prefix) }
        return field.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }
}
