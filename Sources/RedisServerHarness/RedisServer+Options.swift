extension RedisServer {
    /// How to configure a server. Every server also gets `--bind 127.0.0.1`, a port, `--save ""`,
    /// `--appendonly no`, `--dir <fresh temp dir>` and `--repl-diskless-sync-delay 0`.
    public struct Options: Sendable, Hashable {
        /// Adds `--enable-debug-command local` (needed for `DEBUG PROTOCOL`, `DEBUG SLEEP`...).
        public var enableDebugCommand: Bool
        /// `requirepass` for the default user, if any. The readiness probe authenticates with it.
        public var password: String?
        /// ACL users to create (`--user <name> on >password <rules...>`).
        public var users: [ACLUser]
        /// Serve TLS only (`--port 0 --tls-port P`) with the harness's self-signed certificates.
        public var tls: Bool
        /// A fixed port to listen on; nil picks a free one (and retries if another process takes it).
        public var port: Int?
        /// More configuration, passed as given (e.g. `["--maxmemory", "10mb", "--cluster-enabled", "yes"]`).
        public var arguments: [String]
        /// How long start-up may take before it fails (the server is then killed).
        public var startupTimeout: Duration
        /// How long ``RedisServer/stop()`` waits after SIGTERM before sending SIGKILL.
        public var stopGracePeriod: Duration
        /// The server program, by name (searched on `PATH`) or path.
        public var executable: String

        /// Creates options; every parameter has a test-friendly default.
        public init(
            enableDebugCommand: Bool = true,
            password: String? = nil,
            users: [ACLUser] = [],
            tls: Bool = false,
            port: Int? = nil,
            arguments: [String] = [],
            startupTimeout: Duration = .seconds(10),
            stopGracePeriod: Duration = .seconds(2),
            executable: String = "redis-server"
        ) {
            self.enableDebugCommand = enableDebugCommand
            self.password = password
            self.users = users
            self.tls = tls
            self.port = port
            self.arguments = arguments
            self.startupTimeout = startupTimeout
            self.stopGracePeriod = stopGracePeriod
            self.executable = executable
        }
    }

    /// An ACL user created at start-up, as `user <name> on >password <rules...>`.
    public struct ACLUser: Sendable, Hashable {
        /// The user name.
        public var name: String
        /// The password (`>password`); nil makes the user `nopass`.
        public var password: String?
        /// ACL rules, such as `~*`, `&*`, `+@all`, `-flushall`.
        public var rules: [String]

        /// Creates a user; by default it may run every command on every key and channel.
        public init(_ name: String, password: String?, rules: [String] = ["~*", "&*", "+@all"]) {
            self.name = name
            self.password = password
            self.rules = rules
        }

        /// The `--user` directive's words.
        var configArguments: [String] {
            ["--user", name, "on", password.map { ">" + $0 } ?? "nopass"] + rules
        }
    }

    /// The command line (after the executable) for `options` on `port` in `directory`.
    static func commandLine(options: Options, port: Int, directory: String, tls: TLSFiles?) -> [String] {
        var arguments = ["--bind", "127.0.0.1"]
        if let tls {
            arguments += [
                "--port", "0", "--tls-port", String(port),
                "--tls-cert-file", tls.certificatePath,
                "--tls-key-file", tls.keyPath,
                "--tls-ca-cert-file", tls.caCertificatePath,
                "--tls-auth-clients", "no",
            ]
        } else {
            arguments += ["--port", String(port)]
        }
        arguments += [
            "--save", "", "--appendonly", "no", "--dir", directory,
            "--repl-diskless-sync-delay", "0",
            "--daemonize", "no",
        ]
        if options.enableDebugCommand {
            arguments += ["--enable-debug-command", "local"]
        }
        if let password = options.password {
            arguments += ["--requirepass", password]
        }
        for user in options.users {
            arguments += user.configArguments
        }
        return arguments + options.arguments
    }
}
