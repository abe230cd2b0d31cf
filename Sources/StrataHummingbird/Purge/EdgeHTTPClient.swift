import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Where an edge or purge API listens: scheme, host, port and path, parsed from a URL.
public struct EdgeEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `true` for `https`.
    public var usesTLS: Bool
    /// The host name or address.
    public var host: String
    /// The TCP port.
    public var port: Int
    /// The path and query, starting with `/`.
    public var path: String

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int, path: String = "/", usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.path = path.hasPrefix("/") ? path : "/" + path
        self.usesTLS = usesTLS
    }

    /// Parses `http://host[:port][/path]` or `https://…`; `nil` for anything else.
    public init?(url: String) {
        let usesTLS: Bool
        let rest: Substring
        if url.hasPrefix("http://") {
            usesTLS = false
            rest = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            usesTLS = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        var host = authority
        var port = usesTLS ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
            port = parsed
            host = authority[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains("@") else { return nil }
        self.init(host: String(host), port: port, path: path.isEmpty ? "/" : String(path), usesTLS: usesTLS)
    }

    /// Scheme, host and port only: paths and queries can carry tokens.
    public var description: String { "\(usesTLS ? "https" : "http")://\(host):\(port)" }
}

/// A deliberately small HTTP/1.1 client over SwiftNIO: one request per connection, a bounded
/// response body, and one deadline for connect, send and receive. Enough for purge requests;
/// not a general client.
struct EdgeHTTPClient: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: ByteBuffer

        var bodyText: String { String(buffer: body) }
    }

    struct Failure: Error, CustomStringConvertible {
        var reason: String
        var description: String { "EdgeHTTPClient: \(reason)" }
    }

    var group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    var maximumResponseBytes = 64 * 1024

    /// Sends one request and reads the whole response (up to ``maximumResponseBytes``).
    func send(
        method: String, endpoint: EdgeEndpoint, path: String? = nil, headers: [(String, String)] = [],
        body: ByteBuffer? = nil, timeout: Duration
    ) async throws -> Response {
        try await withThrowingTaskGroup(of: Response?.self) { tasks in
            tasks.addTask {
                try await exchange(
                    method: method, endpoint: endpoint, path: path ?? endpoint.path, headers: headers, body: body, timeout: timeout)
            }
            tasks.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { tasks.cancelAll() }
            guard let first = try await tasks.next(), let response = first else {
                throw Failure(reason: "no response within the deadline")
            }
            return response
        }
    }

    /// Connects (bounded by `timeout` too: a connect that hangs would otherwise keep the deadline
    /// task group waiting) and exchanges one request; cancellation ends the read.
    private func exchange(
        method: String, endpoint: EdgeEndpoint, path: String, headers: [(String, String)], body: ByteBuffer?, timeout: Duration
    ) async throws -> Response {
        let connectTimeout = TimeAmount.nanoseconds(
            Int64(clamping: timeout.components.seconds) &* 1_000_000_000 &+ timeout.components.attoseconds / 1_000_000_000)
        let tlsContext = endpoint.usesTLS ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: endpoint.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        let defaultPort = endpoint.usesTLS ? 443 : 80
        if !headers.contains(where: { $0.0.lowercased() == "host" }) {
            head.headers.add(name: "Host", value: endpoint.port == defaultPort ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
        }
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let limit = maximumResponseBytes
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
            var status: Int?
            var responseHeaders: [(String, String)] = []
            var collected = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let responseHead):
                    status = Int(responseHead.status.code)
                    responseHeaders = responseHead.headers.map { ($0.name, $0.value) }
                case .body(var chunk):
                    let room = max(0, limit - collected.readableBytes)
                    if let slice = chunk.readSlice(length: min(room, chunk.readableBytes)) { collected.writeImmutableBuffer(slice) }
                case .end:
                    guard let status else { throw Failure(reason: "response ended without a head") }
                    return Response(status: status, headers: responseHeaders, body: collected)
                }
            }
            throw Failure(reason: "connection closed before the response ended")
        }
    }
}
