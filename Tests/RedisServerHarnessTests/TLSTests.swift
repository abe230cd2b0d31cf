import Foundation
@testable import RedisServerHarness
import Testing

@Suite("TLS servers")
struct TLSTests {
    @Test("a TLS server serves only TLS, trusted through the harness CA")
    func tlsServer() async throws {
        try await RedisServer.withServer(.init(tls: true)) { server in
            let ca = try #require(server.caCertificatePath)
            #expect(server.tlsPort == server.port)
            #expect(FileManager.default.fileExists(atPath: ca))

            let cli = try await ChildProcess.run([
                "redis-cli", "--tls", "--cacert", ca, "-h", "127.0.0.1", "-p", String(server.port), "SET", "tls", "yes",
            ])
            #expect(cli.succeeded)
            #expect(cli.output.contains("OK"), "\(cli.output)")

            // Verify the chain and the IP SAN with openssl's own client (strict verification).
            let handshake = try await ChildProcess.run([
                "openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", ca,
                "-verify_return_error", "-verify_ip", "127.0.0.1", "-brief",
            ])
            #expect(handshake.succeeded, "\(handshake.output)")
            #expect(handshake.output.contains("Verification: OK"), "\(handshake.output)")

            // The plain-text protocol is refused on the TLS port.
            #expect(throws: RedisServerError.self) { try server.command("PING") }
        }
    }

    @Test("certificates are generated once per process")
    func certificatesAreCached() async throws {
        async let a = TLSFiles.harnessDefault()
        async let b = TLSFiles.harnessDefault()
        let (first, second) = try await (a, b)
        #expect(first == second)
        let verify = try await ChildProcess.run([
            "openssl", "verify", "-CAfile", first.caCertificatePath, first.certificatePath,
        ])
        #expect(verify.succeeded, "\(verify.output)")
    }
}
