public import RESP

extension RedisClient {
    /// Subscribes to channels, patterns or shard channels for the duration of `body`.
    ///
    /// Returns once the server has confirmed every target, so anything published after this call
    /// starts is delivered. The subscription ends (and unsubscribes targets nobody else on this
    /// client listens to) when `body` returns or throws.
    ///
    /// All of a client's subscriptions share one dedicated connection. If it is lost, the client
    /// reconnects and resubscribes by itself, and every subscription receives a
    /// ``RedisSubscriptionEvent/gap(_:)`` covering the outage. Each subscription buffers at most
    /// `bufferLimit` events: past that the oldest are dropped and the reader's next event is a
    /// gap with ``RedisSubscriptionGap/Reason/overflow(dropped:)``. A slow subscriber never delays
    /// another.
    ///
    /// ```swift
    /// try await client.subscribe([.channel("invalidations")]) { subscription in
    ///     for try await event in subscription {
    ///         switch event {
    ///         case .message(let message): handle(message.payload)
    ///         case .gap: dropEverythingLocal()   // messages may have been lost
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// - Throws: `timeout` if the server did not confirm within the connect plus command timeouts, `shutdown`
    ///   once the client shuts down (also from the sequence), or whatever `body` throws.
    public func subscribe<Result: Sendable>(
        _ targets: [RedisSubscriptionTarget],
        bufferLimit: Int = 1024,
        _ body: (RedisSubscription) async throws -> Result
    ) async throws -> Result {
        // The first subscriber also waits for the connection to be made.
        let settings = configuration
        let (id, buffer) = try await pubSub.subscribe(
            targets, bufferLimit: bufferLimit, timeout: settings.connectTimeout + settings.commandTimeout
        )
        do {
            let result = try await body(RedisSubscription(buffer: buffer, targets: targets))
            pubSub.unsubscribe(id)
            return result
        } catch {
            pubSub.unsubscribe(id)
            throw error
        }
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    @discardableResult
    public func publish(_ message: some RESPArgument & Sendable, to channel: String) async throws(RedisError) -> Int {
        try await send(PUBLISH(channel, message), timeout: nil)
    }

    /// `SPUBLISH shardchannel message`: how many subscribers received it.
    @discardableResult
    public func publish(_ message: some RESPArgument & Sendable, toShardChannel channel: String) async throws(RedisError) -> Int {
        try await send(SPUBLISH(channel, message), timeout: nil)
    }
}

/// `PUBLISH channel message`: how many subscribers received it.
public struct PUBLISH<Message: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `PUBLISH`.
    public static var name: String { "PUBLISH" }
    /// The channel.
    public var channel: String
    /// The payload.
    public var message: Message
    /// Creates the command.
    public init(_ channel: String, _ message: Message) {
        self.channel = channel
        self.message = message
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("PUBLISH", channel, message) }
}

/// `SPUBLISH shardchannel message`: how many subscribers received it.
public struct SPUBLISH<Message: RESPArgument & Sendable>: RedisCommand {
    /// The typed reply.
    public typealias Response = Int
    /// `SPUBLISH`.
    public static var name: String { "SPUBLISH" }
    /// The shard channel.
    public var channel: String
    /// `[channel]`: a shard channel is routed like a key in a cluster.
    public var keys: [String] { [channel] }
    /// The payload.
    public var message: Message
    /// Creates the command.
    public init(_ channel: String, _ message: Message) {
        self.channel = channel
        self.message = message
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("SPUBLISH", channel, message) }
}
