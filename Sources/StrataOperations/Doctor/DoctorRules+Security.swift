extension DoctorRule {
    /// Security: protected mode with an open default user, dangerous commands, TLS.
    static let securityRules: [DoctorRule] = [protectedMode, dangerousCommands, transportSecurity]

    /// Commands checked with `ACL DRYRUN`, as the arguments passed to it.
    public static let dangerousCommandProbes: [[String]] = [
        ["FLUSHALL"], ["FLUSHDB"], ["KEYS", "*"], ["CONFIG", "SET", "maxmemory", "0"], ["DEBUG", "SLEEP", "0"], ["SHUTDOWN"],
    ]

    /// Whether every address of a `bind` setting is a loopback address.
    static func bindsLoopbackOnly(_ bind: String) -> Bool {
        let addresses = bind.split(separator: " ").map { $0.hasPrefix("-") ? $0.dropFirst() : $0 }
        guard !addresses.isEmpty else { return false }
        return addresses.allSatisfy { $0 == "::1" || $0.hasPrefix("127.") || $0 == "localhost" }
    }

    static let protectedMode = DoctorRule(id: "security.protected-mode", category: .security) { snapshot, _, report in
        guard let config = snapshot.config, let mode = config["protected-mode"], let access = snapshot.access,
            access.defaultUserFlags != nil
        else { return [] }
        let bind = config["bind"] ?? ""
        let evidence = [
            DoctorEvidence("protected-mode", mode), DoctorEvidence("default user", access.defaultUserIsOpen ? "on, nopass" : "protected"),
            DoctorEvidence("bind", bind.isEmpty ? "(all interfaces)" : bind),
        ]
        guard mode == "no", access.defaultUserIsOpen else {
            return [report(.ok, access.defaultUserIsOpen ? "protected mode limits the passwordless default user to local clients" : "the default user needs a password (or is off)", evidence)]
        }
        let advice =
            "Give the default user a password (requirepass, or ACL SETUSER default on >secret), or turn protected-mode back on."
        if bindsLoopbackOnly(bind) {
            return [
                report(
                    .warn, "protected mode is off and the default user has no password: any local process has full access",
                    evidence, advice: advice
                )
            ]
        }
        return [
            report(
                .crit, "protected mode is off and the default user has no password, on a network address: anyone who reaches the port owns the server",
                evidence, advice: advice
            )
        ]
    }

    static let dangerousCommands = DoctorRule(id: "security.dangerous-commands", category: .security) { snapshot, _, report in
        guard let access = snapshot.access, !access.dangerousCommands.isEmpty else { return [] }
        let allowed = access.dangerousCommands.filter(\.value).keys.sorted()
        let evidence = [
            DoctorEvidence("user", access.user),
            DoctorEvidence("allowed", allowed.isEmpty ? "none" : allowed.joined(separator: ", ")),
        ]
        guard !allowed.isEmpty else { return [report(.ok, "the connecting user may not run dangerous commands", evidence)] }
        return [
            report(
                .warn, "user \(access.user) may run \(allowed.joined(separator: ", "))", evidence,
                advice: "If applications use this user, give them their own ACL user without them, e.g. ACL SETUSER app on >secret ~* &* +@all -@dangerous."
            )
        ]
    }

    static let transportSecurity = DoctorRule(id: "security.tls", category: .security) { snapshot, _, report in
        guard let config = snapshot.config, let port = config["port"].flatMap({ Int($0) }) else { return [] }
        let bind = config["bind"] ?? ""
        let tlsPort = config["tls-port"].flatMap { Int($0) } ?? 0
        let evidence = [
            DoctorEvidence("port", String(port)), DoctorEvidence("tls-port", String(tlsPort)),
            DoctorEvidence("bind", bind.isEmpty ? "(all interfaces)" : bind),
        ]
        if bindsLoopbackOnly(bind) { return [report(.ok, "only loopback addresses are bound", evidence)] }
        guard port != 0 else { return [report(.ok, "only TLS is served on network addresses", evidence)] }
        return [
            report(
                .warn, tlsPort == 0 ? "plaintext only on a network address" : "plaintext is served next to TLS on a network address",
                evidence,
                advice: "Serve TLS (tls-port, with port 0 to close plaintext) unless the network is private and trusted."
            )
        ]
    }
}
