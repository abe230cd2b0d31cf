import Glibc

/// A reply read by the harness's own small RESP2 reader (the harness depends on no other module).
public indirect enum RedisReply: Hashable, Sendable {
    /// `+OK`
    case status(String)
    /// `-ERR ...`
    case error(String)
    /// `:42`
    case integer(Int)
    /// `$...`, or nil for a null bulk string.
    case bulk(String?)
    /// `*...`, or nil for a null array.
    case array([RedisReply]?)

    /// The text of a status or bulk reply.
    public var string: String? {
        switch self {
        case .status(let text): return text
        case .bulk(let text): return text
        default: return nil
        }
    }
}

/// A blocking TCP connection to 127.0.0.1 for readiness probes and harness commands.
///
/// Plain TCP only, RESP2 only (no `HELLO`), with send/receive timeouts so a paused server
/// surfaces as an error instead of a hang. Not thread-safe: one owner at a time.
final class RawConnection {
    private let fd: Int32
    private let port: Int
    private var buffer: [UInt8] = []
    private var cursor = 0

    /// Connects, or throws `connectionFailed` (e.g. ECONNREFUSED before the server listens).
    init(port: Int, timeout: Duration = .seconds(2)) throws(RedisServerError) {
        self.port = port
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectionFailed(port: port, reason: String(cString: strerror(errno))) }
        var interval = timeval(
            tv_sec: Int(timeout.components.seconds),
            tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = PortAllocator.loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .connectionFailed(port: port, reason: reason)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one command as a RESP array of bulk strings and reads its reply.
    func command(_ arguments: [String]) throws(RedisServerError) -> RedisReply {
        try send(arguments)
        return try readReply()
    }

    /// Sends one command without reading its reply.
    func send(_ arguments: [String]) throws(RedisServerError) {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.utf8.count)\r\n".utf8)
            bytes += Array(argument.utf8)
            bytes += [13, 10]
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .connectionFailed(port: port, reason: "send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Reads one reply.
    func readReply() throws(RedisServerError) -> RedisReply {
        let line = try readLine()
        guard let type = line.first else { throw .protocolError("empty line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch type {
        case UInt8(ascii: "+"): return .status(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let value = Int(rest) else { throw .protocolError("bad integer \(rest)") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(rest) else { throw .protocolError("bad bulk length \(rest)") }
            if length < 0 { return .bulk(nil) }
            let payload = try readExactly(length + 2)
            return .bulk(String(decoding: payload.dropLast(2), as: UTF8.self))
        case UInt8(ascii: "*"):
            guard let count = Int(rest) else { throw .protocolError("bad array count \(rest)") }
            if count < 0 { return .array(nil) }
            var elements: [RedisReply] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try readReply()) }
            return .array(elements)
        default:
            throw .protocolError("unexpected type byte \(Character(UnicodeScalar(type)))")
        }
    }

    private func readLine() throws(RedisServerError) -> ArraySlice<UInt8> {
        while true {
            if let end = buffer[cursor...].firstIndex(of: 10) {
                guard end > cursor, buffer[end - 1] == 13 else { throw .protocolError("bare LF") }
                let line = buffer[cursor..<(end - 1)]
                cursor = end + 1
                return line
            }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws(RedisServerError) -> ArraySlice<UInt8> {
        while buffer.count - cursor < count { try fill() }
        defer { cursor += count }
        return buffer[cursor..<(cursor + count)]
    }

    private func fill() throws(RedisServerError) {
        if cursor > 0 {
            buffer.removeFirst(cursor)
            cursor = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                buffer += chunk[0..<received]
                return
            }
            if received == 0 { throw .connectionFailed(port: port, reason: "connection closed by server") }
            if errno == EINTR { continue }
            let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
            throw .connectionFailed(port: port, reason: "recv: \(reason)")
        }
    }
}
