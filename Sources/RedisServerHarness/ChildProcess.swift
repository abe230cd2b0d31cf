import Foundation
import Glibc
import Synchronization

/// Spawning, signalling and reaping child processes.
///
/// Long-lived servers are spawned through `setpriv --pdeathsig KILL` (util-linux) when it is
/// installed, so the kernel kills them if the test process dies without running its exit
/// handlers (a crash, SIGKILL, a timeout in CI). The parent-death signal fires when the *thread*
/// that spawned the child exits, not only the process, so servers are spawned from one dedicated
/// thread that lives as long as the process (``SpawnerThread``); Swift's cooperative pool may
/// retire idle worker threads at any time.
enum ChildProcess {
    /// Where the child's standard output and error go.
    enum Output {
        /// `/dev/null`.
        case discard
        /// Appended to the file at this path (created if needed).
        case file(String)
    }

    /// The absolute path of `setpriv`, when it is installed and supports `--pdeathsig`.
    static let setprivPath: String? = {
        guard let path = findExecutable("setpriv") else { return nil }
        // util-linux gained --pdeathsig in 2.33; older builds would fail on every spawn.
        guard let result = try? runBlocking([path, "--help"]), result.output.contains("--pdeathsig") else {
            return nil
        }
        return path
    }()

    /// Resolves a program name against `PATH` (or returns it if it is already a path).
    static func findExecutable(_ name: String) -> String? {
        if name.contains("/") {
            return access(name, X_OK) == 0 ? name : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Spawns a long-lived child that dies with this process, from the dedicated spawner thread.
    static func spawnServer(executable: String, arguments: [String], output: Output) async throws -> pid_t {
        var argv = [executable] + arguments
        var program = executable
        if let setprivPath {
            argv = [setprivPath, "--pdeathsig", "KILL", "--"] + argv
            program = setprivPath
        }
        let finalArgv = argv
        let finalProgram = program
        return try await SpawnerThread.shared.run {
            try spawn(program: finalProgram, argv: finalArgv, output: output)
        }
    }

    /// Spawns a child with `posix_spawn`: stdin from `/dev/null`, output as asked, no inherited
    /// descriptors beyond 0–2, an empty signal mask and default handlers for common signals.
    static func spawn(program: String, argv: [String], output: Output) throws(RedisServerError) -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .discard:
            posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        case .file(let path):
            posix_spawn_file_actions_addopen(&fileActions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        if let closeFrom = closeFromAction {
            _ = closeFrom(&fileActions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &fileActions, &attributes, cArgs, environ)
        guard result == 0 else {
            throw .spawnFailed(command: argv.joined(separator: " "), reason: String(cString: strerror(result)))
        }
        return pid
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.34+'s `posix_spawn_file_actions_addclosefrom_np` (not exported to Swift by the
    /// Glibc module), so children inherit no descriptor that lacks `FD_CLOEXEC`.
    private static let closeFromAction: CloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Reaps `pid` if it has exited. Returns its wait status, or nil while it runs.
    static func reapIfExited(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status }
            if result == -1 && errno == EINTR { continue }
            if result == -1 { return -1 }  // ECHILD: already reaped elsewhere
            return nil
        }
    }

    /// Waits (polling, without blocking a thread) until `pid` exits; reaps it.
    /// Returns nil when `timeout` passed first.
    static func waitForExit(_ pid: pid_t, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var interval = Duration.microseconds(200)
        while true {
            if let status = reapIfExited(pid) { return status }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(10))
        }
    }

    /// SIGKILLs `pid` and reaps it (a killed process exits promptly, so this blocks briefly).
    static func killAndReap(_ pid: pid_t) async {
        Glibc.kill(pid, SIGKILL)
        if await waitForExit(pid, timeout: .seconds(10)) == nil {
            // Uninterruptible sleep for 10 s: give up the wait and block as a last resort.
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    /// Describes a wait status ("exit code 1", "signal 9").
    static func describe(status: Int32) -> String {
        if status == -1 { return "already reaped" }
        let signal = status & 0x7f
        if signal == 0 { return "exit code \((status >> 8) & 0xff)" }
        return "signal \(signal)"
    }

    /// The result of running a short-lived tool.
    struct ToolResult {
        /// The wait status.
        var status: Int32
        /// Standard output and error, interleaved.
        var output: String
        /// Whether it exited with code 0.
        var succeeded: Bool { status == 0 }
    }

    /// Runs a short-lived tool to completion, capturing its output (polling, non-blocking).
    static func run(_ argv: [String], timeout: Duration = .seconds(30)) async throws -> ToolResult {
        guard let program = findExecutable(argv[0]) else { throw RedisServerError.executableNotFound(argv[0]) }
        let outputPath = NSTemporaryDirectory() + "strata-tool-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        let pid = try spawn(program: program, argv: argv, output: .file(outputPath))
        guard let status = await waitForExit(pid, timeout: timeout) else {
            await killAndReap(pid)
            throw RedisServerError.toolFailed(command: argv.joined(separator: " "), status: "timed out", output: "")
        }
        return ToolResult(status: status, output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// `run` for contexts that cannot await (start-up probes). Blocks the calling thread.
    static func runBlocking(_ argv: [String]) throws -> ToolResult {
        guard let program = findExecutable(argv[0]) else { throw RedisServerError.executableNotFound(argv[0]) }
        let outputPath = NSTemporaryDirectory() + "strata-tool-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { unlink(outputPath) }
        let pid = try spawn(program: program, argv: argv, output: .file(outputPath))
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return ToolResult(status: status, output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// The state letter of `/proc/PID/stat` (`R`, `S`, `T`, `Z`...), or nil if there is no such process.
    static func procState(_ pid: pid_t) -> Character? {
        guard let stat = readProcFile("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: close)...].first { $0 != " " }
    }
}

/// One thread that lives as long as the process and performs every server spawn, so each
/// server's parent-death signal is tied to the process's life rather than to a pool thread's.
final class SpawnerThread: Sendable {
    /// The process-wide spawner.
    static let shared = SpawnerThread()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let available = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                available.wait()
                let job = jobs.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = "RedisServerHarness.spawner"
        thread.start()
    }

    /// Runs `body` on the spawner thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock {
                $0.append {
                    continuation.resume(with: Result { try body() })
                }
            }
            available.signal()
        }
    }
}
