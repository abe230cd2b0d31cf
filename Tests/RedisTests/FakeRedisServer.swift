import NIOCore
import NIOPosix
import RESP
import Synchronization

/// A TCP server on 127.0.0.1 that answers each command with whatever bytes the test chooses:
/// the way to produce replies no real Redis sends (garbage, absurd lengths, extra replies).
final class FakeRedisServer: Sendable {
    /// Given a command's arguments, the bytes to send back (nil: send nothing).
    typealias Responder = @Sendable ([String]) -> ByteBuffer?

    private let channel: any Channel
    let port: Int
    private let received = Mutex<[[String]]>([])

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Commands received so far, in order.
    var commands: [[String]] { received.withLock { $0 } }

    static func start(_ responder: @escaping Responder) async throws -> FakeRedisServer {
        let box = RecorderBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FakeHandler(responder: responder, record: { box.server?.record($0) })
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let server = FakeRedisServer(channel: channel, port: channel.localAddress?.port ?? 0)
        box.server = server
        return server
    }

    fileprivate func record(_ command: [String]) {
        received.withLock { $0.append(command) }
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Lets child handlers reach the server object created after the bind.
private final class RecorderBox: @unchecked Sendable {
    // Written once before any client connects (the test connects after `start` returns).
    nonisolated(unsafe) var server: FakeRedisServer?
}

private final class FakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var decoder = RESPTokenDecoder()
    private let responder: FakeRedisServer.Responder
    private let record: @Sendable ([String]) -> Void

    init(responder: @escaping FakeRedisServer.Responder, record: @escaping @Sendable ([String]) -> Void) {
        self.responder = responder
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while let token = try? decoder.decode(from: &buffer) {
            guard case .array(let parts) = token.value else { continue }
            let command = parts.map { part -> String in
                if case .bulkString(let text) = part.value { return String(buffer: text) }
                return ""
            }
            record(command)
            if let reply = responder(command) {
                context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            }
        }
    }
}
