import Glibc
import NIOCore
import RESP

/// A plain blocking TCP client for tests: writes raw bytes, reads whole replies with the RESP
/// module's decoder. Nothing asynchronous, so the decoder is exercised on real socket reads.
final class BlockingSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var buffer = ByteBuffer()
    private var decoder = RESPTokenDecoder()
    /// Every byte received, in order, for re-decoding in other chunkings.
    private(set) var received = ByteBuffer()

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect to \(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends a command as a RESP array of bulk strings.
    func send(_ arguments: String...) throws {
        try send(arguments)
    }

    /// Sends a command given as an array.
    func send(_ arguments: [String]) throws {
        var bytes = "*\(arguments.count)\r\n"
        for argument in arguments {
            bytes += "$\(argument.utf8.count)\r\n\(argument)\r\n"
        }
        let utf8 = Array(bytes.utf8)
        var offset = 0
        while offset < utf8.count {
            let written = utf8[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += written
        }
    }

    /// Reads until the decoder yields one whole reply.
    func readToken() throws -> RESPToken {
        while true {
            if let token = try decoder.decode(from: &buffer) { return token }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "recv: \(count == 0 ? "closed" : "errno \(errno)")") }
            buffer.writeBytes(chunk[0..<count])
            received.writeBytes(chunk[0..<count])
        }
    }

    /// Sends a command and returns its reply as an owned value.
    func request(_ arguments: String...) throws -> RESPValue {
        try send(arguments)
        return RESPValue(try readToken())
    }
}
