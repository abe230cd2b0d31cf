import Foundation
import Synchronization

/// PEM files for TLS tests: a throw-away certificate authority and a server certificate it
/// signed for `127.0.0.1` and `localhost`.
public struct TLSFiles: Sendable, Hashable {
    /// The CA certificate that clients should trust.
    public var caCertificatePath: String
    /// The server's certificate chain (leaf only).
    public var certificatePath: String
    /// The server's private key (unencrypted PEM).
    public var keyPath: String

    private static let cache = Mutex<Task<TLSFiles, any Error>?>(nil)

    /// The harness's files, generated with the `openssl` CLI the first time they are needed in a
    /// process and then reused. They live in the process's harness directory, removed at exit.
    ///
    /// Keys are P-256 ECDSA (fast to generate); certificates are valid for 30 days from now.
    /// The CA carries `basicConstraints=CA:TRUE` and `keyCertSign`, the leaf carries the SANs
    /// `IP:127.0.0.1` and `DNS:localhost` and `extendedKeyUsage=serverAuth,clientAuth`, which is
    /// what strict verifiers (BoringSSL/NIOSSL) require. The leaf is also usable as a client
    /// certificate for mutual-TLS tests.
    public static func harnessDefault() async throws -> TLSFiles {
        let task = cache.withLock { cached in
            if let cached { return cached }
            let task = Task { try await generate() }
            cached = task
            return task
        }
        do {
            return try await task.value
        } catch {
            cache.withLock { if $0 == task { $0 = nil } }
            throw error
        }
    }

    private static func generate() async throws -> TLSFiles {
        let directory = try HarnessDirectory.makeDirectory(named: "tls")
        let caKey = "\(directory)/ca.key"
        let caCert = "\(directory)/ca.crt"
        let key = "\(directory)/server.key"
        let csr = "\(directory)/server.csr"
        let cert = "\(directory)/server.crt"
        let extensions = "\(directory)/server.ext"
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

        try await openssl(
            ["req", "-x509", "-new"] + curve + [
                "-keyout", caKey, "-out", caCert, "-days", "30", "-subj", "/CN=Strata Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try await openssl(["req", "-new"] + curve + ["-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
        try """
        basicConstraints=CA:FALSE
        keyUsage=critical,digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth,clientAuth
        subjectAltName=IP:127.0.0.1,DNS:localhost

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try await openssl([
            "x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial",
            "-out", cert, "-days", "30", "-sha256", "-extfile", extensions,
        ])
        return TLSFiles(caCertificatePath: caCert, certificatePath: cert, keyPath: key)
    }

    private static func openssl(_ arguments: [String]) async throws {
        let result = try await ChildProcess.run(["openssl"] + arguments)
        guard result.succeeded else {
            throw RedisServerError.toolFailed(
                command: (["openssl"] + arguments).joined(separator: " "),
                status: ChildProcess.describe(status: result.status), output: result.output)
        }
    }
}
