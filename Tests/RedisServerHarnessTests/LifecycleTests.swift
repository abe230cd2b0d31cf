import Foundation
import Glibc
@testable import RedisServerHarness
import Synchronization
import Testing

@Suite("RedisServer lifecycle")
struct LifecycleTests {
    @Test("start answers PING; stop leaves no process, no zombie, no directory; stop is idempotent")
    func startAndStop() async throws {
        let server = try await RedisServer.start()
        let pid = server.pid
        #expect(server.host == "127.0.0.1")
        #expect(server.tlsPort == nil)
        #expect(try server.command("PING") == .status("PONG"))
        #expect(processState(pid) != nil)
        #expect(ChildProcess.procState(pid) != "Z")
        #expect(FileManager.default.fileExists(atPath: server.directory))
        #expect(ProcessRegistry.livePIDs.contains(pid))

        await server.stop()
        #expect(isGone(pid), "pid \(pid) is still in /proc (state \(String(describing: processState(pid))))")
        #expect(!server.isRunning)
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        #expect(!ProcessRegistry.livePIDs.contains(pid))
        #expect(server.logTail().contains("Ready to accept connections"))

        await server.stop()
        await server.kill()
        #expect(throws: RedisServerError.self) { try server.command("PING") }
    }

    @Test("servers started in parallel get distinct ports with free bus ports")
    func parallelServers() async throws {
        let servers = try await withThrowingTaskGroup(of: RedisServer.self) { group in
            for _ in 0..<4 { group.addTask { try await RedisServer.start() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let ports = Set(servers.map(\.port))
        #expect(ports.count == 4)
        for server in servers {
            #expect((15000..<22000).contains(server.port))
            #expect(try server.command("SET", "owner", "\(server.port)") == .status("OK"))
        }
        for server in servers {
            #expect(try server.command("GET", "owner") == .bulk("\(server.port)"))
        }
        await withTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { await server.stop() } }
        }
        for server in servers { #expect(isGone(server.pid)) }
    }

    @Test("kill then restart on a new port; the old process is reaped")
    func killAndRestartOnNewPort() async throws {
        try await RedisServer.withServer { server in
            let firstPID = server.pid
            let firstPort = server.port
            #expect(try server.command("SET", "k", "v") == .status("OK"))

            await server.kill()
            #expect(isGone(firstPID))
            #expect(!server.isRunning)
            #expect(throws: RedisServerError.self) { try server.command("PING") }

            let newPort = try RedisServer.freePort()
            try await server.restart(onPort: newPort)
            #expect(server.port == newPort)
            #expect(server.port != firstPort)
            #expect(server.pid != firstPID)
            #expect(try server.command("GET", "k") == .bulk(nil), "no persistence across restarts")

            // Restart in place while running: SIGTERM, then the same port again.
            let secondPID = server.pid
            try await server.restart()
            #expect(server.port == newPort)
            #expect(isGone(secondPID))
            #expect(try server.command("PING") == .status("PONG"))
        }
    }

    @Test("pause freezes the process (state T) and resume continues it")
    func pauseAndResume() async throws {
        try await RedisServer.withServer { server in
            try server.pause()
            #expect(processState(server.pid) == "T")
            #expect(server.isPaused)
            try server.resume()
            #expect(try server.command("PING") == .status("PONG"))
            try server.pause()  // stop() must still work on a paused server
        }
    }

    struct Boom: Error {}

    @Test("withServer stops the server when the body throws")
    func withServerStopsOnThrow() async throws {
        let seen = Mutex<(pid: Int32, directory: String)?>(nil)
        await #expect(throws: Boom.self) {
            try await RedisServer.withServer { server in
                seen.withLock { $0 = (server.pid, server.directory) }
                throw Boom()
            }
        }
        let (pid, directory) = try #require(seen.withLock { $0 })
        #expect(isGone(pid))
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test("a bad configuration fails fast with the server's log tail")
    func badConfigurationReportsLog() async throws {
        do {
            _ = try await RedisServer.start(.init(arguments: ["--no-such-directive", "1"]))
            Issue.record("start should have failed")
        } catch let error as RedisServerError {
            guard case .exitedDuringStartup = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(error.description.contains("no-such-directive"))
        }
    }

    @Test("a fixed port that is taken fails with 'Address already in use'")
    func fixedPortInUse() async throws {
        try await RedisServer.withServer { occupant in
            do {
                _ = try await RedisServer.start(.init(port: occupant.port))
                Issue.record("start should have failed")
            } catch let error as RedisServerError {
                #expect(error.description.contains("Address already in use"))
            }
        }
    }

    @Test("requirepass and ACL users are configured")
    func passwordAndUsers() async throws {
        let options = RedisServer.Options(
            password: "secret", users: [.init("alice", password: "pw", rules: ["~alice:*", "+@all"])])
        try await RedisServer.withServer(options) { server in
            #expect(try server.command("ACL", "WHOAMI") == .bulk("default"))
            let socket = try BlockingSocket(port: server.port)
            #expect(try socket.request("PING") == .simpleError("NOAUTH Authentication required."))
            #expect(try socket.request("AUTH", "alice", "pw") == .simpleString("OK"))
            #expect(try socket.request("SET", "alice:1", "x") == .simpleString("OK"))
            guard case .simpleError(let message) = try socket.request("SET", "bob:1", "x") else {
                Issue.record("alice may not write bob's keys")
                return
            }
            #expect(message.hasPrefix("NOPERM"))
        }
    }

    @Test("extra arguments reach the server")
    func extraArguments() async throws {
        try await RedisServer.withServer(.init(arguments: ["--maxmemory", "12mb", "--databases", "4"])) { server in
            let maxmemory = try server.command("CONFIG", "GET", "maxmemory")
            #expect(maxmemory == .array([.bulk("maxmemory"), .bulk("12582912")]))
            #expect(try server.command("CONFIG", "GET", "repl-diskless-sync-delay") == .array([.bulk("repl-diskless-sync-delay"), .bulk("0")]))
            #expect(try server.command("CONFIG", "GET", "save") == .array([.bulk("save"), .bulk("")]))
            #expect(try server.command("SELECT", "5") == .error("ERR DB index is out of range"))
        }
    }
}

@Suite("Shared servers")
struct SharedServerTests {
    @Test("one server per name, reused by concurrent callers")
    func sharedIsReused() async throws {
        async let a = RedisServer.shared(named: "harness-tests")
        async let b = RedisServer.shared(named: "harness-tests")
        let (first, second) = try await (a, b)
        #expect(first === second)
        let third = try await RedisServer.shared(named: "harness-tests")
        #expect(third === first)
        #expect(first.isRunning)
        #expect(ProcessRegistry.livePIDs.contains(first.pid), "killed at exit by the registry")

        let other = try await RedisServer.shared(named: "harness-tests-other")
        #expect(other !== first)
        #expect(other.port != first.port)
    }

    @Test("asking for a shared name with other options is an error")
    func sharedOptionsMismatch() async throws {
        _ = try await RedisServer.shared(named: "harness-tests-mismatch")
        await #expect(throws: RedisServerError.self) {
            _ = try await RedisServer.shared(named: "harness-tests-mismatch", options: .init(enableDebugCommand: false))
        }
    }
}
