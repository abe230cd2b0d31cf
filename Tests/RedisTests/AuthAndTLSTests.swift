import NIOCore
import NIOSSL
import Redis
import RedisServerHarness
import Testing

@Suite("Authentication and TLS")
struct AuthAndTLSTests {
    @Test("password and ACL users authenticate in the HELLO handshake (and over RESP2)")
    func credentialsAreAccepted() async throws {
        let options = RedisServer.Options(
            password: "topsecret", users: [.init("alice", password: "wonder", rules: ["~app:*", "+@all"])]
        )
        try await RedisServer.withServer(options) { server in
            for version in [RedisProtocolVersion.resp3, .resp2] {
                var settings = configuration(for: server, protocolVersion: version)
                settings.password = "topsecret"
                let connection = try await RedisConnection.connect(configuration: settings)
                #expect(try await connection.ping() == "PONG")
                await connection.close()

                settings.username = "alice"
                settings.password = "wonder"
                let alice = try await RedisConnection.connect(configuration: settings)
                #expect(try await alice.set("app:x", to: "1"))
                do throws(RedisError) {
                    try await alice.set("other:x", to: "1")
                    Issue.record("alice may only touch app:*")
                } catch {
                    #expect(error.code == .noPerm)
                }
                await alice.close()
            }
        }
    }

    @Test("a wrong password or missing credentials fail the connect with authenticationFailed")
    func wrongPasswordIsReported() async throws {
        try await RedisServer.withServer(.init(password: "topsecret")) { server in
            for password in ["wrong", nil] as [String?] {
                for version in [RedisProtocolVersion.resp3, .resp2] where !(password == nil && version == .resp2) {
                    var settings = configuration(for: server, protocolVersion: version)
                    settings.password = password
                    do throws(RedisError) {
                        _ = try await RedisConnection.connect(configuration: settings)
                        Issue.record("connect should fail")
                    } catch {
                        #expect(error.code == .authenticationFailed)
                        #expect(!error.description.contains("wrong"))
                    }
                }
            }
            // Through the pool, callers see the same error rather than a generic one.
            var settings = configuration(for: server)
            settings.password = "wrong"
            try await withClient(settings) { client in
                do throws(RedisError) {
                    try await client.ping()
                    Issue.record("commands should fail")
                } catch {
                    #expect(error.code == .authenticationFailed)
                }
            }
        }
    }

    @Test("TLS with a private CA: commands work, and an untrusted certificate is refused")
    func tlsConnections() async throws {
        try await RedisServer.withServer(.init(tls: true)) { server in
            let caPath = try #require(server.caCertificatePath)
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caPath)
            var settings = configuration(for: server)
            settings.tls = tls
            try await withClient(settings) { client async throws in
                #expect(try await client.set("tls:k", to: "secure"))
                #expect(try await client.get("tls:k")?.text == "secure")
            }
            settings.tlsServerName = "localhost"
            let byName = try await RedisConnection.connect(configuration: settings)
            #expect(try await byName.ping() == "PONG")
            await byName.close()

            settings.tls = TLSConfiguration.makeClientConfiguration()  // system roots: our CA is unknown
            do throws(RedisError) {
                _ = try await RedisConnection.connect(configuration: settings)
                Issue.record("an untrusted certificate must be refused")
            } catch {
                #expect(error.code == .tls, "\(error.debugDescription)")
            }
        }
    }
}
