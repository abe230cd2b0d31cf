import NIOCore
import RESP

/// Reads replies off the socket and hands them to the connection in batches.
///
/// One `channelRead` may carry many replies (auto-pipelined callers are answered together), so the
/// handler decodes every complete reply in the bytes it has, then delivers them under a single
/// lock acquisition. Push frames go to the push handler, never to a waiting caller.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder: RESPTokenDecoder
    private var pending: ByteBuffer?
    private var replies: [RESPToken] = []
    private var completions: [RedisConnection.StateMachine.Completion] = []
    private var connection: RedisConnection?
    private var closeError: RedisError?

    init(limits: RESPLimits) {
        self.decoder = RESPTokenDecoder(limits: limits)
        replies.reserveCapacity(64)
        completions.reserveCapacity(64)
    }

    private var isInactive = false

    /// Called on the event loop before the first command is written. A channel that already
    /// closed (a TLS handshake refused, say) closes the connection at once.
    func attach(_ connection: RedisConnection) {
        if isInactive {
            connection.channelClosed(closeError ?? RedisError(.connectionClosed))
        } else {
            self.connection = connection
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var pending {
            self.pending = nil
            pending.writeImmutableBuffer(bytes)
            buffer = pending
        } else {
            buffer = bytes
        }
        // The decoder and the reply list are worked on as locals and stored back once: every
        // access to a stored property of a class is checked for exclusivity at run time, which
        // per reply cost more than the decoding (see docs/profiling.md).
        var decoder = self.decoder
        var replies = self.replies
        self.replies = []
        var failure: RESPParseError?
        do {
            try decoder.decodeAll(from: &buffer) { (token: consuming RESPToken) in
                if token.isPush {
                    deliver(&replies)
                    connection?.receivedPush(token)
                } else {
                    replies.append(token)
                }
            }
        } catch {
            failure = error
        }
        self.decoder = decoder
        deliver(&replies)
        self.replies = replies
        if let failure {
            fail(context: context, RedisError(.protocolError, underlying: failure))
            return
        }
        if buffer.readableBytes > 0 {
            // Tokens handed out share this storage; copy the partial tail so appending to it later
            // does not copy the whole read.
            var tail = context.channel.allocator.buffer(capacity: max(buffer.readableBytes * 2, 1024))
            tail.writeImmutableBuffer(buffer)
            pending = tail
        }
    }

    private func deliver(_ replies: inout [RESPToken]) {
        guard !replies.isEmpty, let connection else { return }
        connection.receivedReplies(&replies, completions: &completions)
        replies.removeAll(keepingCapacity: true)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = (error as? RedisError) ?? RedisError(.connectionClosed, underlying: error)
        fail(context: context, redisError)
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        if closeError == nil { closeError = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isInactive = true
        connection?.channelClosed(closeError ?? RedisError(.connectionClosed))
        connection = nil
        context.fireChannelInactive()
    }
}
