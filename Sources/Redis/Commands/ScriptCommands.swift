public import RESP

/// `EVAL script numkeys key... arg...`: runs a Lua script given by its source (and caches it on
/// the server under its SHA-1).
///
/// Prefer ``RedisCommandExecutor/run(_:keys:arguments:timeout:)``, which sends the shorter
/// ``EVALSHA`` and falls back to this command only when the server does not know the script.
public struct EVAL: RedisCommand {
    /// `EVAL`.
    public static var name: String { "EVAL" }
    /// The script.
    public var script: RedisScript
    /// Keys the script touches, passed as `KEYS` (never spliced into the source).
    public var keys: [String]
    /// Other arguments, passed as `ARGV`.
    public var arguments: [any RESPArgument & Sendable]
    /// Creates the command.
    public init(_ script: RedisScript, keys: [String] = [], arguments: [any RESPArgument & Sendable] = []) {
        self.script = script
        self.keys = keys
        self.arguments = arguments
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encodeScriptCall("EVAL", script.source, keys: keys, arguments: arguments)
    }
    /// The script's reply, as is.
    public func decode(_ token: RESPToken) -> RESPToken { token }
}

/// `EVALSHA sha1 numkeys key... arg...`: runs a script the server has cached, by its SHA-1.
///
/// Fails with ``RedisError/Code-swift.struct/noScript`` when the server does not have the script
/// (never loaded, `SCRIPT FLUSH`, a restart, a failover to a replica that never saw it). The
/// command keeps the whole ``RedisScript`` so that callers can fall back to ``EVAL``.
public struct EVALSHA: RedisCommand {
    /// `EVALSHA`.
    public static var name: String { "EVALSHA" }
    /// The script (only its digest is sent).
    public var script: RedisScript
    /// Keys the script touches, passed as `KEYS`.
    public var keys: [String]
    /// Other arguments, passed as `ARGV`.
    public var arguments: [any RESPArgument & Sendable]
    /// Creates the command.
    public init(_ script: RedisScript, keys: [String] = [], arguments: [any RESPArgument & Sendable] = []) {
        self.script = script
        self.keys = keys
        self.arguments = arguments
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encodeScriptCall("EVALSHA", script.sha1, keys: keys, arguments: arguments)
    }
    /// The script's reply, as is.
    public func decode(_ token: RESPToken) -> RESPToken { token }
    /// The same call sent with its source, which also loads the script.
    public var withSource: EVAL { EVAL(script, keys: keys, arguments: arguments) }
}

/// `SCRIPT LOAD script`: caches a script on the server and returns its SHA-1.
public struct SCRIPTLOAD: RedisCommand {
    /// The typed reply.
    public typealias Response = String
    /// `SCRIPT`.
    public static var name: String { "SCRIPT" }
    /// The script.
    public var script: RedisScript
    /// Creates the command.
    public init(_ script: RedisScript) { self.script = script }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("SCRIPT", "LOAD", script.source) }
}

/// `SCRIPT EXISTS sha1...`: whether the server has each script cached.
public struct SCRIPTEXISTS: RedisCommand {
    /// The typed reply.
    public typealias Response = [Bool]
    /// `SCRIPT`.
    public static var name: String { "SCRIPT" }
    /// The digests to check.
    public var digests: [String]
    /// Creates the command from digests.
    public init(_ digests: [String]) { self.digests = digests }
    /// Creates the command from scripts.
    public init(_ scripts: [RedisScript]) { self.digests = scripts.map(\.sha1) }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("SCRIPT", "EXISTS", digests) }
}

/// `SCRIPT FLUSH [ASYNC|SYNC]`: empties the server's script cache.
public struct SCRIPTFLUSH: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `SCRIPT`.
    public static var name: String { "SCRIPT" }
    /// Flush in the background (`ASYNC`) rather than before replying (`SYNC`).
    public var asynchronous: Bool
    /// Creates the command.
    public init(asynchronous: Bool = false) { self.asynchronous = asynchronous }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("SCRIPT", "FLUSH", asynchronous ? RESPKeyword("ASYNC") : RESPKeyword("SYNC"))
    }
}

/// `FCALL function numkeys key... arg...`: calls a function of a library loaded with
/// ``FUNCTIONLOAD``. Functions are persisted and replicated, so they have no `NOSCRIPT` fallback.
public struct FCALL: RedisCommand {
    /// `FCALL`.
    public static var name: String { "FCALL" }
    /// The function's name.
    public var function: String
    /// Keys the function touches, passed as `keys`.
    public var keys: [String]
    /// Other arguments, passed as `args`.
    public var arguments: [any RESPArgument & Sendable]
    /// Creates the command.
    public init(_ function: String, keys: [String] = [], arguments: [any RESPArgument & Sendable] = []) {
        self.function = function
        self.keys = keys
        self.arguments = arguments
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encodeScriptCall("FCALL", function, keys: keys, arguments: arguments)
    }
    /// The function's reply, as is.
    public func decode(_ token: RESPToken) -> RESPToken { token }
}

/// `FUNCTION LOAD [REPLACE] code`: loads a library (whose code starts `#!lua name=<library>`) and
/// returns the library's name.
public struct FUNCTIONLOAD: RedisCommand {
    /// The typed reply.
    public typealias Response = String
    /// `FUNCTION`.
    public static var name: String { "FUNCTION" }
    /// The library's code.
    public var code: String
    /// Replace a library of the same name instead of failing.
    public var replace: Bool
    /// Creates the command.
    public init(_ code: String, replace: Bool = false) {
        self.code = code
        self.replace = replace
    }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("FUNCTION", "LOAD", replace ? RESPKeyword("REPLACE") : nil, code)
    }
}

/// `FUNCTION DELETE library`.
public struct FUNCTIONDELETE: RedisCommand {
    /// The typed reply.
    public typealias Response = RedisOK
    /// `FUNCTION`.
    public static var name: String { "FUNCTION" }
    /// The library's name.
    public var library: String
    /// Creates the command.
    public init(_ library: String) { self.library = library }
    /// Writes the command.
    public func encode(into encoder: inout RESPCommandEncoder) { encoder.encode("FUNCTION", "DELETE", library) }
}

extension RESPCommandEncoder {
    /// Writes `NAME target numkeys key... arg...` (`EVAL`, `EVALSHA`, `FCALL`).
    mutating func encodeScriptCall(
        _ name: StaticString, _ target: String, keys: [String], arguments: [any RESPArgument & Sendable]
    ) {
        let argumentCount = arguments.reduce(0) { $0 + $1.respArgumentCount }
        writeArrayHeader(3 + keys.count + argumentCount)
        writeBulk(name)
        writeBulk(target)
        writeBulk(keys.count)
        for key in keys { writeBulk(key) }
        for argument in arguments { argument.encode(into: &self) }
    }
}
