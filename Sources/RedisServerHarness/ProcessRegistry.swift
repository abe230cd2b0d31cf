import Foundation
import Glibc
import Synchronization

/// Every server process this process has started and not yet reaped, killed at process exit.
///
/// Three layers keep servers from outliving the test process:
/// 1. ``RedisServer/stop()`` (and ``RedisServer/withServer(_:_:)``, which always calls it);
/// 2. this registry's `atexit` handler, which SIGKILLs and reaps every server still registered
///    when the process exits normally (shared servers rely on it);
/// 3. the kernel's parent-death signal (see ``ChildProcess``) when the process dies abnormally.
enum ProcessRegistry {
    private static let live = Mutex<Set<pid_t>>([])

    /// Installs the exit handler once (the first time a server is registered).
    private static let installExitHandler: Void = {
        atexit {
            ProcessRegistry.killAll()
            HarnessDirectory.removeRoot()
        }
    }()

    /// Records a started server.
    static func register(_ pid: pid_t) {
        _ = installExitHandler
        live.withLock { _ = $0.insert(pid) }
    }

    /// Forgets a server that was reaped.
    static func unregister(_ pid: pid_t) {
        live.withLock { _ = $0.remove(pid) }
    }

    /// The pids of servers started and not yet reaped.
    static var livePIDs: Set<pid_t> { live.withLock { $0 } }

    /// SIGKILLs and reaps every registered server (blocking; for the exit handler).
    static func killAll() {
        let pids = live.withLock { pids in
            defer { pids.removeAll() }
            return pids
        }
        for pid in pids {
            Glibc.kill(pid, SIGKILL)
        }
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
    }
}

/// The per-process scratch directory that holds every server's directory and the TLS files.
///
/// It is `$TMPDIR/strata-harness-<pid>-<random>`, removed at exit. Directories left by processes
/// that died without exiting cleanly are removed the first time a later process needs its own.
enum HarnessDirectory {
    private static let prefix = "strata-harness-"

    /// The root, created on first use.
    static let root: String = {
        let temp = NSTemporaryDirectory()
        removeStaleRoots(in: temp)
        let path = "\(temp)\(prefix)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    private static let rootCreated = Atomic<Bool>(false)

    /// Makes a fresh, empty directory under the root.
    static func makeDirectory(named name: String) throws -> String {
        rootCreated.store(true, ordering: .relaxed)
        let path = "\(root)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RedisServerError.spawnFailed(command: "mkdir \(path)", reason: "\(error)")
        }
        return path
    }

    /// Removes the root if this process created it.
    static func removeRoot() {
        guard rootCreated.load(ordering: .relaxed) else { return }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Removes `strata-harness-<pid>-*` directories whose process no longer exists.
    private static func removeStaleRoots(in temp: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: temp) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { continue }
            if pid != getpid() && Glibc.kill(pid, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: temp + entry)
            }
        }
    }
}
