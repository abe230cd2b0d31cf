public import NIOCore
public import RESP

/// Anything that can run Redis commands: a ``RedisConnection`` or a pooled ``RedisClient``.
///
/// The typed convenience methods (``get(_:)``, ``set(_:to:expiration:condition:)``, ...) are
/// defined once here for both.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command and returns its typed reply.
    func send<Command: RedisCommand>(_ command: Command, timeout: TimeAmount?) async throws(RedisError) -> Command.Response
    /// Sends several commands in one round trip; one result per command, in order.
    func pipeline(_ commands: [any RedisCommand], timeout: TimeAmount?) async throws(RedisError) -> [Result<RESPToken, RedisError>]
}

extension RedisCommandExecutor {
    /// Sends one command with the default deadline.
    @inlinable
    public func send<Command: RedisCommand>(_ command: Command) async throws(RedisError) -> Command.Response {
        try await send(command, timeout: nil)
    }

    /// Sends several commands in one round trip with the default deadline.
    public func pipeline(_ commands: [any RedisCommand]) async throws(RedisError) -> [Result<RESPToken, RedisError>] {
        try await pipeline(commands, timeout: nil)
    }

    /// Sends any command given as strings (the first being its name) and returns the raw reply.
    ///
    /// Error replies are thrown as ``RedisError``.
    public func raw(_ arguments: String...) async throws(RedisError) -> RESPToken {
        try await send(RawCommand(arguments), timeout: nil)
    }

    /// Sends any command given as strings and returns the reply as an owned ``RESPValue``.
    public func rawValue(_ arguments: [String], timeout: TimeAmount? = nil) async throws(RedisError) -> RESPValue {
        RESPValue(try await send(RawCommand(arguments), timeout: timeout))
    }
}

extension RedisConnection: RedisCommandExecutor {}
