import NIOCore
import NIOSSL
import RESP
import Synchronization

// The connection handshake: HELLO 3 (with AUTH and SETNAME), the RESP2 fallback, READONLY for
// cluster replica reads, SELECT, and how a failed connect is reported.
extension RedisConnection {
    /// What a failed connect reports: auth and TLS failures by name, anything else as
    /// `connectionFailed` with the cause attached.
    static func connectError(_ error: any Error) -> RedisError {
        guard let redisError = error as? RedisError else {
            return RedisError(error is NIOSSLError ? .tls : .connectionFailed, underlying: error)
        }
        switch redisError.code {
        case .authenticationFailed, .connectionFailed, .tls:
            return redisError
        default:
            let cause = redisError.underlying ?? redisError
            return RedisError(cause is NIOSSLError ? .tls : .connectionFailed, underlying: cause)
        }
    }

    func handshake() async throws(RedisError) {
        let timeout = configuration.connectTimeout
        let password = configuration.password
        let username = configuration.username ?? (password == nil ? nil : "default")
        if configuration.protocolVersion == .resp3 {
            let reply = try await sendToken(name: "HELLO", timeout: timeout) { encoder in
                encoder.encode(
                    "HELLO", 3, password.map { RESPOption("AUTH", [username ?? "default", $0]) },
                    configuration.clientName.map { RESPOption("SETNAME", $0) }
                )
            }
            if let error = reply.serverError(command: "HELLO") {
                guard error.code == .noProto || (error.code == .err && error.serverMessage?.contains("unknown command") == true)
                else { throw Self.handshakeError(error) }
                try await handshakeRESP2(username: username, password: password, timeout: timeout)
            }
        } else {
            try await handshakeRESP2(username: username, password: password, timeout: timeout)
        }
        if configuration.readOnlyReplica {
            let reply = try await sendToken(name: "READONLY", timeout: timeout) { $0.encode("READONLY") }
            if let error = reply.serverError(command: "READONLY") { throw Self.handshakeError(error) }
        }
        if configuration.database != 0 {
            let database = configuration.database
            let reply = try await sendToken(name: "SELECT", timeout: timeout) { $0.encode("SELECT", database) }
            if let error = reply.serverError(command: "SELECT") { throw Self.handshakeError(error) }
        }
    }

    private func handshakeRESP2(username: String?, password: String?, timeout: TimeAmount) async throws(RedisError) {
        negotiatedProtocol.store(RedisProtocolVersion.resp2.rawValue, ordering: .relaxed)
        if let password {
            let reply = try await sendToken(name: "AUTH", timeout: timeout) { encoder in
                if let username, username != "default" {
                    encoder.encode("AUTH", username, password)
                } else {
                    encoder.encode("AUTH", password)
                }
            }
            if let error = reply.serverError(command: "AUTH") { throw Self.handshakeError(error) }
        }
        if let name = configuration.clientName {
            let reply = try await sendToken(name: "CLIENT", timeout: timeout) { $0.encode("CLIENT", "SETNAME", name) }
            if let error = reply.serverError(command: "CLIENT") { throw Self.handshakeError(error) }
        }
    }

    private static func handshakeError(_ error: RedisError) -> RedisError {
        switch error.code {
        case .wrongPass, .noAuth, .noPerm:
            RedisError(.authenticationFailed, command: error.command, serverCode: error.serverCode, serverMessage: error.serverMessage)
        case .err where error.serverMessage?.lowercased().contains("password") == true:
            RedisError(.authenticationFailed, command: error.command, serverCode: error.serverCode, serverMessage: error.serverMessage)
        default:
            RedisError(.connectionFailed, command: error.command, serverCode: error.serverCode, serverMessage: error.serverMessage)
        }
    }
}
