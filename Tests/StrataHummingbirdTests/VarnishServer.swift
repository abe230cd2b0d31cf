import Foundation
@testable import StrataHummingbird
import RedisServerHarness

/// A real `varnishd` (Debian's `varnish` + `varnish-modules`) started for one test, in front of
/// an application on loopback, with the repository's `edge.vcl`.
///
/// Foreground process (`-F`) with its own `-n` work directory (readable by the `varnish` user),
/// stopped by pid. A start that fails throws with the varnish log instead of hanging.
///
/// A crashed test run cannot take Varnish along (`setpriv --pdeathsig` is cleared when varnishd
/// drops privileges), so each start first stops the instances of test processes that no longer
/// exist: the work directory names the test's pid and holds varnishd's pid file.
final class VarnishServer: Sendable {
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    let workDirectory: String
    private let process: Process

    var endpoint: EdgeEndpoint { EdgeEndpoint(host: "127.0.0.1", port: port) }
    var logPath: String { "\(workDirectory)/varnishd.log" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)" }

    private init(port: Int, workDirectory: String, process: Process) {
        self.port = port
        self.workDirectory = workDirectory
        self.process = process
    }

    /// The repository's VCL with the backend port replaced.
    static func edgeVCL(backendPort: Int) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/StrataHummingbird/Resources/edge.vcl")
        let vcl = try String(contentsOf: source, encoding: .utf8)
        guard vcl.contains(".port = \"8080\";") else { throw StartFailure(description: "edge.vcl has no default backend port") }
        return vcl.replacingOccurrences(of: ".port = \"8080\";", with: ".port = \"\(backendPort)\";")
    }

    static func executable() throws -> String {
        for candidate in ["/usr/sbin/varnishd", "/usr/local/sbin/varnishd", "/usr/bin/varnishd"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw StartFailure(description: "varnishd is not installed (scripts/setup.sh installs varnish and varnish-modules)")
    }

    /// Starts Varnish in front of `127.0.0.1:backendPort` and waits until it answers HTTP.
    static func start(
        port: Int? = nil, backendPort: Int, vcl: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> VarnishServer {
        let varnishd = try executable()
        removeOrphans()
        let port = try port ?? RedisServer.freePort()
        let adminPort = try RedisServer.freePort()
        let directory = NSTemporaryDirectory() + "strata-varnish-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let vclPath = "\(directory)/edge.vcl"
        try (vcl ?? edgeVCL(backendPort: backendPort)).write(toFile: vclPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: vclPath)
        _ = FileManager.default.createFile(atPath: "\(directory)/varnishd.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/varnishd.log"))

        var arguments = [
            varnishd, "-F", "-P", "\(directory)/varnishd.pid", "-n", "\(directory)/n", "-a", "127.0.0.1:\(port)", "-T", "127.0.0.1:\(adminPort)", "-f", vclPath,
            "-s", "malloc,32m", "-p", "ban_lurker_sleep=0.1", "-p", "thread_pools=1", "-p", "thread_pool_min=10",
            "-p", "thread_pool_max=200", "-p", "backend_local_error_holddown=0", "-p", "backend_remote_error_holddown=0",
        ]
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            arguments = ["--pdeathsig", "KILL", "--"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: arguments.removeFirst())
        }
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let server = VarnishServer(port: port, workDirectory: directory, process: process)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let output = server.log
                server.removeDirectory()
                throw StartFailure(description: "varnishd exited during start-up:\n\(output)")
            }
            // A PURGE without tags is answered by the VCL itself (400), never by the backend.
            if let response = try? await EdgeHTTPClient().send(method: "PURGE", endpoint: server.endpoint, path: "/", timeout: .seconds(1)),
                response.status == 400
            {
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = server.log
        await server.stop()
        throw StartFailure(description: "varnishd did not answer within \(timeout):\n\(output)")
    }

    /// Stops Varnish by pid and removes its directory. SIGKILL, because a test edge has nothing
    /// to flush and a graceful stop costs two seconds; the cache child exits as soon as its
    /// manager is gone.
    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        removeDirectory()
    }

    private func removeDirectory() { try? FileManager.default.removeItem(atPath: workDirectory) }

    /// Stops (by the pid in its pid file) every Varnish whose test process is gone, and removes
    /// its directory. A pid is only signalled when its command line names that directory.
    static func removeOrphans() {
        let temporary = NSTemporaryDirectory()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix("strata-varnish-") {
            let parts = name.split(separator: "-")
            guard parts.count == 4, let owner = Int32(parts[2]), owner != getpid(), kill(owner, 0) != 0, errno == ESRCH else { continue }
            let directory = temporary + name
            if let text = try? String(contentsOfFile: "\(directory)/varnishd.pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                let commandLine = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), commandLine.contains(directory)
            {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Runs `body` with Varnish on `port` in front of `backendPort`; always stops it.
    static func withServer<T: Sendable>(port: Int, backendPort: Int, _ body: (VarnishServer) async throws -> T) async throws -> T {
        let server = try await start(port: port, backendPort: backendPort)
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body(server)) } catch { outcome = .failure(error) }
        await server.stop()
        return try outcome.get()
    }
}

extension EdgeHTTPClient.Response {
    /// A header's value (case-insensitive name), if present.
    subscript(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
