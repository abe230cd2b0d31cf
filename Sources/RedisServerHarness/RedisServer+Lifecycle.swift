import Foundation
import Glibc

extension RedisServer {
    /// Stops the server: SIGTERM, then SIGKILL after ``Options/stopGracePeriod``; reaps it (no
    /// zombie), removes its directory and frees its port. Idempotent; safe after ``kill()``.
    public func stop() async {
        let pid = takePID()
        if let pid {
            Glibc.kill(pid, SIGCONT)  // a SIGSTOPped server would not act on SIGTERM
            Glibc.kill(pid, SIGTERM)
            if await ChildProcess.waitForExit(pid, timeout: options.stopGracePeriod) == nil {
                await ChildProcess.killAndReap(pid)
            }
            ProcessRegistry.unregister(pid)
        }
        let (alreadyRemoved, port, owned) = state.withLock { ($0.directoryRemoved, $0.port, $0.ownsPort) }
        guard !alreadyRemoved else { return }
        let tail = logTail()
        state.withLock {
            $0.finalLogTail = tail
            $0.directoryRemoved = true
        }
        try? FileManager.default.removeItem(atPath: directory)
        if owned { PortAllocator.release(port) }
    }

    /// Kills the server with SIGKILL (a crash, for fault tests) and reaps it. Its directory and
    /// port are kept for ``restart(onPort:)``. No-op when it is not running.
    public func kill() async {
        guard let pid = takePID() else { return }
        await ChildProcess.killAndReap(pid)
        ProcessRegistry.unregister(pid)
    }

    /// Freezes the server with SIGSTOP: connections stay open but nothing is answered.
    /// Returns once the kernel reports the process stopped.
    public func pause() throws {
        guard let pid = state.withLock({ $0.pid }) else { throw RedisServerError.notRunning }
        Glibc.kill(pid, SIGSTOP)
        state.withLock { $0.paused = true }
        var waited = 0
        while ChildProcess.procState(pid) != "T" && waited < 1000 {
            usleep(1000)
            waited += 1
        }
    }

    /// Continues a paused server with SIGCONT.
    public func resume() throws {
        guard let pid = state.withLock({ $0.pid }) else { throw RedisServerError.notRunning }
        Glibc.kill(pid, SIGCONT)
        state.withLock { $0.paused = false }
    }

    /// Whether ``pause()`` froze the server and ``resume()`` has not continued it.
    public var isPaused: Bool { state.withLock { $0.paused } }

    /// Starts the same configuration again, in the same directory, after stopping the current
    /// process if it still runs (SIGTERM, as ``stop()``).
    ///
    /// - Parameter newPort: the port to listen on, from ``freePort()`` (the server returns it to
    ///   the harness when stopped); nil keeps the current one. Clients must then be pointed at
    ///   ``port``.
    public func restart(onPort newPort: Int? = nil) async throws {
        if let pid = takePID() {
            Glibc.kill(pid, SIGCONT)
            Glibc.kill(pid, SIGTERM)
            if await ChildProcess.waitForExit(pid, timeout: options.stopGracePeriod) == nil {
                await ChildProcess.killAndReap(pid)
            }
            ProcessRegistry.unregister(pid)
        }
        let (oldPort, owned) = state.withLock { ($0.port, $0.ownsPort) }
        if let newPort, newPort != oldPort {
            if owned { PortAllocator.release(oldPort) }
            // A port from freePort() is reserved for us: return it when we stop.
            state.withLock { $0.ownsPort = true }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await launch(fixedPort: newPort ?? oldPort)
    }

    /// Removes the running pid from the state (so exactly one caller acts on it).
    private func takePID() -> pid_t? {
        state.withLock { state in
            defer {
                state.pid = nil
                state.paused = false
            }
            return state.pid
        }
    }
}
