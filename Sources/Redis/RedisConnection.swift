public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import RESP
import Synchronization

/// One connection to a Redis server, shared by any number of concurrent callers.
///
/// Commands issued while earlier ones are in flight are queued behind them and written together:
/// everything issued in one event-loop tick goes out in one write and one flush (auto-pipelining),
/// and replies are matched in order. Each command has its own deadline; a command that times out or
/// whose task is cancelled fails alone, its late reply is read and discarded, and everyone else's
/// commands carry on. The connection closes only when it is really broken: an I/O error, a reply
/// that is not valid RESP, or an abandoned reply still missing after `abandonedReplyTimeout`.
///
/// Most code uses ``RedisClient``, which pools connections; use a connection directly for
/// commands that change connection state (`SELECT`, `CLIENT TRACKING`, `MULTI`).
public final class RedisConnection: Sendable {
    /// Identifies the connection in logs and metrics.
    public let id: Int
    /// The settings the connection was made with.
    public let configuration: RedisConnectionConfiguration
    let channel: any Channel
    private let state: Mutex<StateMachine>
    private let nextRequestID = Atomic<UInt64>(0)
    let negotiatedProtocol = Atomic<Int>(RedisProtocolVersion.resp3.rawValue)
    /// Set on a RESP2 connection once it has subscribed: from then on every frame the server
    /// sends (messages, confirmations, pongs) is pub/sub data, none is a reply to a caller.
    private let routesEverythingToPushHandler = Atomic<Bool>(false)
    private let pushHandler: (@Sendable (RESPToken) -> Void)?
    let logger: Logger
    let metrics: RedisMetrics

    private init(
        id: Int, channel: any Channel, configuration: RedisConnectionConfiguration, logger: Logger,
        metrics: RedisMetrics, pushHandler: (@Sendable (RESPToken) -> Void)?
    ) {
        self.id = id
        self.channel = channel
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.pushHandler = pushHandler
        self.state = Mutex(
            StateMachine(allocator: channel.allocator, abandonedReplyTimeout: configuration.abandonedReplyTimeout)
        )
    }

    /// The protocol agreed in the handshake (RESP2 when the server refused `HELLO 3`).
    public var protocolVersion: RedisProtocolVersion {
        RedisProtocolVersion(rawValue: negotiatedProtocol.load(ordering: .relaxed)) ?? .resp3
    }

    /// Whether the connection has closed (or started closing) and refuses commands.
    public var isClosed: Bool { state.withLock { $0.closedError != nil } }

    /// Replies still owed by the server, including those for abandoned commands.
    var owedReplies: Int { state.withLock { $0.owedCount } }

    /// Completes when the channel has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private static let nextConnectionID = Atomic<Int>(0)

    /// Connects, performs the handshake (`HELLO`, `AUTH`, `SETNAME`, `SELECT`) and returns a ready
    /// connection.
    ///
    /// - Parameters:
    ///   - pushHandler: receives RESP3 push frames (pub/sub messages, invalidations), on the event loop.
    /// - Throws: ``RedisError`` with `connectionFailed`, `authenticationFailed`, `tls` or `timeout`.
    public static func connect(
        configuration: RedisConnectionConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "strata.redis"),
        metrics: RedisMetrics = RedisMetrics(),
        pushHandler: (@Sendable (RESPToken) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        try configuration.validate()
        let connectionID = nextConnectionID.wrappingAdd(1, ordering: .relaxed).newValue
        var logger = logger
        logger[metadataKey: "redis.connection"] = "\(connectionID)"
        let sslContext: NIOSSLContext?
        do {
            sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        } catch {
            throw RedisError(.tls, underlying: error)
        }
        let serverName = configuration.tlsServerName ?? configuration.endpoint.host
        let limits = configuration.limits
        let channel: any Channel
        // The handler is kept here, not looked up later: a channel that closes during the TLS
        // handshake has already left its pipeline, and must still report why it closed.
        let handlerBox = Mutex<NIOLoopBound<RedisChannelHandler>?>(nil)
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let sslContext {
                            let hostname = serverName.isIPAddress ? nil : serverName
                            let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
                            try channel.pipeline.syncOperations.addHandler(tls)
                        }
                        let handler = RedisChannelHandler(limits: limits)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        handlerBox.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                    }
                }
                .connect(host: configuration.endpoint.host, port: configuration.endpoint.port)
                .get()
        } catch {
            metrics.connectFailed()
            throw RedisError(.connectionFailed, underlying: error)
        }
        let connection = RedisConnection(
            id: connectionID, channel: channel, configuration: configuration, logger: logger, metrics: metrics,
            pushHandler: pushHandler
        )
        do {
            let handler = handlerBox.withLock { $0 }
            try await channel.eventLoop.submit {
                handler?.value.attach(connection)
            }.get()
            try await connection.handshake()
        } catch {
            channel.close(promise: nil)
            metrics.connectFailed()
            throw Self.connectError(error)
        }
        logger.debug("redis connection ready", metadata: ["redis.protocol": "\(connection.protocolVersion.rawValue)"])
        return connection
    }

    // MARK: Sending

    /// Writes a command that gets no reply of its own (subscription commands, whose answers
    /// arrive as push frames). Fails only if the connection is closed.
    func sendWithoutReply(encode: (inout RESPCommandEncoder) -> Void) throws(RedisError) {
        let action = state.withLock { $0.enqueueWithoutReply(encode: encode) }
        var failure: RedisError?
        perform(action, failing: { failure = $0 })
        if let failure { throw failure }
    }

    /// Routes every later frame to the push handler (RESP2 subscriber mode).
    func enterSubscriberMode() {
        routesEverythingToPushHandler.store(true, ordering: .relaxed)
    }

    /// Sends one command and returns its typed reply.
    ///
    /// - Parameter timeout: this command's deadline; defaults to the configuration's `commandTimeout`.
    /// - Throws: ``RedisError``: the server's error reply, `timeout`, `cancelled`, or
    ///   `connectionClosed` if the connection broke first.
    public func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount? = nil) async throws(RedisError) -> Command.Response {
        try await send(command, deadline: .after(timeout ?? configuration.commandTimeout))
    }

    /// ``send(_:timeout:)`` with the deadline given either way (the pool passes an absolute one).
    @inline(__always)
    func send<Command: RedisCommand>(_ command: Command, deadline: RequestDeadline) async throws(RedisError) -> Command.Response {
        let token = try await sendToken(name: Command.name, deadline: deadline) { command.encode(into: &$0) }
        if token.isError, let error = token.serverError(command: Command.name) {
            metrics.recordError(Command.name, code: error.code)
            throw error
        }
        return try command.decode(token)
    }

    /// Sends several commands in one write and returns one result per command, in order.
    ///
    /// The whole batch shares one deadline. A server error fails only its own command's result;
    /// a timeout, cancellation or broken connection fails the batch.
    public func pipeline(_ commands: [any RedisCommand], timeout: TimeAmount? = nil) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        try await pipeline(commands, deadline: .after(timeout ?? configuration.commandTimeout))
    }

    /// ``pipeline(_:timeout:)`` with the deadline given either way (the pool passes an absolute one).
    func pipeline(_ commands: [any RedisCommand], deadline: RequestDeadline) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        guard !commands.isEmpty else { return [] }
        var tokens = try await sendBatch(name: "PIPELINE", count: commands.count, deadline: deadline) { encoder in
            for command in commands { command.encode(into: &encoder) }
        }
        // Not `zip(commands, tokens).map`: a command (an existential) is only looked at for an
        // error reply rather than copied and destroyed for every reply, and each token is moved
        // from `tokens` into its result rather than copied (a contended reference count on the
        // read buffer all replies share) and released with `tokens`.
        var results: [Result<RESPToken, RedisError>] = []
        results.reserveCapacity(tokens.count)
        tokens.reverse()
        var index = -1
        while let token = tokens.popLast() {
            index += 1
            guard index < commands.count else { break }
            if token.isError {
                let name = type(of: commands[index]).name
                if let error = token.serverError(command: name) {
                    metrics.recordError(name, code: error.code)
                    results.append(.failure(error))
                    continue
                }
            }
            results.append(.success(token))
        }
        return results
    }

    /// When a request times out.
    enum RequestDeadline {
        /// This long after the request is queued.
        case after(TimeAmount)
        /// At this instant, but no sooner than a millisecond after the request is queued: a pooled
        /// command whose wait for a connection used up its budget still gets its chance.
        case by(NIODeadline)

        func resolved(started: NIODeadline) -> NIODeadline {
            switch self {
            case .after(let timeout): started + timeout
            case .by(let deadline): max(deadline, started + .milliseconds(1))
            }
        }
    }

    /// Sends a command written by `encode` that expects one reply; returns the raw reply.
    func sendToken(name: String, timeout: TimeAmount?, encode: (inout RESPCommandEncoder) -> Void) async throws(RedisError) -> RESPToken {
        try await sendToken(name: name, deadline: .after(timeout ?? configuration.commandTimeout), encode: encode)
    }

    /// Sends a command written by `encode` that expects one reply; returns the raw reply.
    func sendToken(name: String, deadline: RequestDeadline, encode: (inout RESPCommandEncoder) -> Void) async throws(RedisError) -> RESPToken {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
        let started = NIODeadline.now()
        let deadline = deadline.resolved(started: started)
        do {
            let token = try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (continuation: StateMachine.ReplyContinuation) in
                    let action = state.withLock {
                        $0.enqueue(id: id, replies: 1, deadline: deadline, receiver: .single(continuation), encode: encode)
                    }
                    perform(action, failing: { continuation.resume(throwing: $0) })
                    if Task.isCancelled { cancel(id) }
                }
            } onCancel: {
                self.cancel(id)
            }
            metrics.recordCommand(name, started: started, error: nil)
            return token
        } catch {
            let redisError = (error as? RedisError) ?? RedisError(.connectionClosed, underlying: error)
            metrics.recordCommand(name, started: started, error: redisError.code)
            throw redisError.naming(command: name)
        }
    }

    /// Sends `count` commands written by `encode` as one request; returns their raw replies.
    func sendBatch(name: String, count: Int, deadline: RequestDeadline, encode: (inout RESPCommandEncoder) -> Void) async throws(RedisError) -> [RESPToken] {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
        let started = NIODeadline.now()
        let deadline = deadline.resolved(started: started)
        // The batch is encoded before taking the connection's lock and copied in under it: the
        // lock is contended (the event loop takes it for every read), and encoding many
        // commands held it for microseconds.
        var batch = RESPCommandEncoder(buffer: channel.allocator.buffer(capacity: 64 * count))
        encode(&batch)
        let bytes = batch.buffer
        do {
            let tokens = try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (continuation: StateMachine.BatchContinuation) in
                    let action = state.withLock {
                        $0.enqueue(id: id, replies: count, deadline: deadline, receiver: .batch(continuation)) { encoder in
                            encoder.buffer.writeImmutableBuffer(bytes)
                        }
                    }
                    perform(action, failing: { continuation.resume(throwing: $0) })
                    if Task.isCancelled { cancel(id) }
                }
            } onCancel: {
                self.cancel(id)
            }
            metrics.recordCommand(name, started: started, error: nil)
            return tokens
        } catch {
            let redisError = (error as? RedisError) ?? RedisError(.connectionClosed, underlying: error)
            metrics.recordCommand(name, started: started, error: redisError.code)
            throw redisError.naming(command: name)
        }
    }

    private func perform(_ action: StateMachine.EnqueueAction, failing: (RedisError) -> Void) {
        switch action {
        case .none:
            break
        case .scheduleFlush(let timer):
            channel.eventLoop.execute { self.flush() }
            if let timer { armTimer(timer) }
        case .armTimer(let timer):
            armTimer(timer)
        case .fail(let error):
            failing(error)
        }
    }

    private func flush() {
        guard let bytes = state.withLock({ $0.takeOutbound() }) else { return }
        channel.writeAndFlush(bytes, promise: nil)
    }

    private func armTimer(_ deadline: NIODeadline) {
        channel.eventLoop.scheduleTask(deadline: deadline) { self.timerFired(deadline) }
    }

    private func timerFired(_ deadline: NIODeadline) {
        var completions: [StateMachine.Completion] = []
        let result = state.withLock { $0.timerFired(at: deadline, now: .now(), completions: &completions) }
        for completion in completions { completion.resume() }
        switch result {
        case .rearm(let next):
            if let next { armTimer(next) }
        case .close(let error):
            logger.warning("closing redis connection: a reply to an abandoned command is overdue")
            closeNow(error)
        }
    }

    private func cancel(_ id: UInt64) {
        let (completion, timer) = state.withLock {
            $0.abandon(id: id, error: RedisError(.cancelled), now: .now())
        }
        completion?.resume()
        if let timer { armTimer(timer) }
    }

    // MARK: Events from the channel handler (on the event loop)

    /// Matches `tokens` to the requests owed, in order. Tokens are moved out of the array (it is
    /// left empty, or holding what followed an unexpected reply), and completions out of
    /// `completions`: all tokens of a read share one buffer whose reference count the callers'
    /// threads are changing too, so each copy and release here is a contended atomic.
    func receivedReplies(_ tokens: inout [RESPToken], completions: inout [StateMachine.Completion]) {
        if routesEverythingToPushHandler.load(ordering: .relaxed) {
            for token in tokens { receivedPush(token) }
            tokens.removeAll(keepingCapacity: true)
            return
        }
        var result = StateMachine.ReceiveResult.delivered
        let now = NIODeadline.now()
        tokens.reverse()
        var refusals: [RESPToken] = []
        let acceptsRefusals = pushHandler != nil
        state.withLock { machine in
            machine.noteReplyProgress(at: now)
            while let token = tokens.popLast() {
                // A subscription command gets no reply when it succeeds, but an error reply when
                // refused (`MOVED` for a shard channel elsewhere): with nothing owed, that error
                // is the pub/sub layer's to read, not a stream out of step. (One arriving while a
                // PING is owed is taken as the PING's reply; the keep-alive then reconnects.)
                if acceptsRefusals, token.isError, machine.expectsRefusal {
                    refusals.append(token)
                    continue
                }
                result = machine.received(token, completions: &completions)
                if result == .unexpected { break }
            }
        }
        completions.reverse()
        while let completion = completions.popLast() { completion.resume() }
        for refusal in refusals { receivedPush(refusal) }
        switch result {
        case .delivered: break
        case .drained: channel.close(promise: nil)
        case .unexpected: closeNow(RedisError(.protocolError, serverMessage: "reply with no command waiting for it"))
        }
    }

    func receivedPush(_ token: RESPToken) {
        if let pushHandler {
            pushHandler(token)
        } else {
            logger.trace("dropping push frame: no push handler")
        }
    }

    func channelClosed(_ error: RedisError) {
        var completions: [StateMachine.Completion] = []
        state.withLock { $0.closed(error, completions: &completions) }
        for completion in completions { completion.resume() }
    }

    /// Fails everything owed with `error` and closes the channel.
    func closeNow(_ error: RedisError) {
        channelClosed(error)
        channel.close(promise: nil)
    }

    /// Closes the connection at once; commands still owed fail with `connectionClosed`.
    public func close() async {
        closeNow(RedisError(.connectionClosed, serverMessage: "closed by the client"))
        try? await channel.closeFuture.get()
    }

    /// Stops accepting commands, waits for every owed reply, then closes.
    public func closeGracefully() async {
        beginGracefulClose()
        try? await channel.closeFuture.get()
    }

    /// Stops accepting commands and closes the channel once every owed reply has arrived.
    func beginGracefulClose() {
        if state.withLock({ $0.startDraining() }) { channel.close(promise: nil) }
    }
}

extension RedisError {
    func naming(command name: String) -> RedisError {
        guard command == nil else { return self }
        var copy = self
        copy.command = name
        return copy
    }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
