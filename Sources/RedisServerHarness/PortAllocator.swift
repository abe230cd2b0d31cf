import Foundation
import Glibc
import Synchronization

/// Hands out TCP ports on 127.0.0.1 for servers.
///
/// Ports come from 15000–21999 so that `port + 10000` (a Cluster node's bus port) is also below
/// Linux's ephemeral range (32768+), where outgoing connections could take it. A candidate is
/// only returned when both it and its bus port can be bound right now, and a port is never handed
/// out twice within this process while in use. Another process may still take the same port
/// between the check and the server's own bind: ``RedisServer/start(_:)`` detects that
/// ("Address already in use") and retries with a new port.
enum PortAllocator {
    /// The first port that may be handed out.
    static let lowerBound = 15000
    /// One past the last port that may be handed out.
    static let upperBound = 22000
    /// The distance from a port to its Cluster bus port.
    static let busPortOffset = 10000

    private static let reserved = Mutex<Set<Int>>([])

    /// Reserves a port whose bus port is free too.
    static func reserve() throws(RedisServerError) -> Int {
        for _ in 0..<500 {
            let candidate = Int.random(in: lowerBound..<upperBound)
            let claimed = reserved.withLock { ports in
                ports.insert(candidate).inserted
            }
            guard claimed else { continue }
            if canBind(candidate) && canBind(candidate + busPortOffset) {
                return candidate
            }
            release(candidate)
        }
        throw .noFreePort
    }

    /// Lets the port be handed out again.
    static func release(_ port: Int) {
        reserved.withLock { _ = $0.remove(port) }
    }

    /// Whether a listening socket could bind 127.0.0.1:`port` now (with `SO_REUSEADDR`, as Redis does).
    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// `127.0.0.1:port` as a socket address.
    static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        return address
    }

    /// The inodes of sockets listening on 127.0.0.1:`port` or 0.0.0.0:`port`, per `/proc/net/tcp`.
    static func listeningInodes(_ port: Int) -> [Substring] {
        guard let table = readProcFile("/proc/net/tcp") else { return [] }
        let suffix = ":" + String(port, radix: 16, uppercase: true).leftPadded(to: 4)
        var inodes: [Substring] = []
        for line in table.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { continue }
            let local = fields[1]
            if fields[3] == "0A" && local.hasSuffix(suffix)
                && (local.hasPrefix("0100007F") || local.hasPrefix("00000000"))
            {
                inodes.append(fields[9])
            }
        }
        return inodes
    }

    /// Whether process `pid` itself listens on `port` (one of its descriptors is the listening
    /// socket), so a probe that reaches the port reaches this process and not another one.
    static func isListening(_ port: Int, byProcess pid: pid_t) -> Bool {
        let inodes = listeningInodes(port)
        guard !inodes.isEmpty,
            let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        else { return false }
        let targets = Set(inodes.map { "socket:[\($0)]" })
        for descriptor in descriptors {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)"),
                targets.contains(target)
            {
                return true
            }
        }
        return false
    }
}

/// Reads a whole `/proc` file. (Foundation's `String(contentsOfFile:)` trusts the reported size
/// of 0 and returns only the first page; `/proc/net/tcp` easily spans hundreds of kilobytes.)
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            bytes += chunk[0..<count]
        } else if count == 0 {
            return String(decoding: bytes, as: UTF8.self)
        } else if errno != EINTR {
            return nil
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
