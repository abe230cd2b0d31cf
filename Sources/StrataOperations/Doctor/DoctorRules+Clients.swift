extension DoctorRule {
    /// Clients: capacity, rejected connections, pub/sub buffer limits, idle and memory-heavy clients.
    static let clientRules: [DoctorRule] = [
        clientCapacity, rejectedConnections, pubsubBufferLimit, idleClients, largestClient, averageClientMemory,
    ]

    /// `MEMORY DOCTOR` flags normal clients using more than 200 KB each on average.
    static let averageClientMemoryLimit = 200 * 1024

    static let clientCapacity = DoctorRule(id: "clients.capacity", category: .clients) { snapshot, policy, report in
        guard let connected = snapshot.infoInt("connected_clients"),
            let maximum = snapshot.configInt("maxclients") ?? snapshot.infoInt("maxclients"), maximum > 0
        else { return [] }
        let share = Double(connected) / Double(maximum)
        let evidence = [
            DoctorEvidence("connected_clients", String(connected)), DoctorEvidence("maxclients", String(maximum)),
            DoctorEvidence("usage", Format.percent(share)),
        ]
        guard share >= policy.clientCapacityWarning else { return [report(.ok, "client connections are well below maxclients", evidence)] }
        return [
            report(
                .warn, "connections are at \(Format.percent(share)) of maxclients", evidence,
                advice: "Find who holds the connections (CLIENT LIST): pools too large per instance, or leaked connections. Raise maxclients (and the file-descriptor limit) only if the count is expected."
            )
        ]
    }

    static let rejectedConnections = DoctorRule(id: "clients.rejected", category: .clients) { snapshot, _, report in
        guard let rejected = snapshot.infoInt("rejected_connections") else { return [] }
        let evidence = [DoctorEvidence("rejected_connections", String(rejected))]
        guard rejected > 0 else { return [report(.ok, "no connection rejected since start", evidence)] }
        return [
            report(
                .warn, "\(rejected) connections were rejected because maxclients was reached", evidence,
                advice: "Clients saw connection errors. Cap pool sizes, or raise maxclients and ulimit -n."
            )
        ]
    }

    static let pubsubBufferLimit = DoctorRule(id: "clients.pubsub-buffer", category: .clients) { snapshot, _, report in
        guard let limits = snapshot.config?["client-output-buffer-limit"] else { return [] }
        let words = limits.split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "pubsub"), index + 3 < words.count else { return [] }
        let hard = words[index + 1]
        let evidence = [DoctorEvidence("client-output-buffer-limit pubsub", words[(index + 1)...(index + 3)].joined(separator: " "))]
        guard hard == "0" else { return [report(.ok, "pub/sub output buffers have a hard limit", evidence)] }
        return [
            report(
                .warn, "pub/sub output buffers have no hard limit: one slow subscriber can grow without bound", evidence,
                advice: "CONFIG SET client-output-buffer-limit \"pubsub 32mb 8mb 60\" so that a subscriber that cannot keep up is disconnected."
            )
        ]
    }

    static let idleClients = DoctorRule(id: "clients.idle", category: .clients) { snapshot, policy, report in
        guard let clients = snapshot.clients else { return [] }
        // Subscribers, blocked readers and replication links are idle by design.
        let idle = clients.filter {
            $0.idleSeconds >= policy.idleClientSeconds && !$0.isSubscriber && !$0.isBlocked && !$0.isReplicationLink
        }
        let evidence = [
            DoctorEvidence("clients", String(clients.count)),
            DoctorEvidence("idle ≥ \(policy.idleClientSeconds) s", String(idle.count)),
            DoctorEvidence("timeout", snapshot.config?["timeout"] ?? "unknown"),
        ]
        let advice =
            "Long-idle connections usually come from oversized pools or leaks. Shrink pools or give them an idle timeout; CONFIG SET timeout closes idle clients server-side."
        if idle.count >= policy.idleClientsWarning {
            return [report(.warn, "\(idle.count) clients idle for over \(policy.idleClientSeconds) s", evidence, advice: advice)]
        }
        if !idle.isEmpty {
            return [report(.info, "\(idle.count) clients idle for over \(policy.idleClientSeconds) s", evidence, advice: advice)]
        }
        return [report(.ok, "no long-idle client", evidence)]
    }

    static let largestClient = DoctorRule(id: "clients.memory.largest", category: .clients) { snapshot, policy, report in
        guard let clients = snapshot.clients, let largest = clients.max(by: { $0.totalMemory < $1.totalMemory }) else {
            return []
        }
        let evidence = [
            DoctorEvidence("largest tot-mem", Format.bytesExact(largest.totalMemory)),
            DoctorEvidence("client", largest.name.isEmpty ? largest.address : "\(largest.name) (\(largest.address))"),
            DoctorEvidence("flags", largest.flags),
        ]
        guard largest.totalMemory >= policy.clientMemoryWarning else {
            return [report(.ok, "no client uses over \(Format.bytes(policy.clientMemoryWarning))", evidence)]
        }
        return [
            report(
                .warn, "a client uses \(Format.bytes(largest.totalMemory)) of server memory", evidence,
                advice: "Large output buffers mean a slow reader (pub/sub subscriber, MONITOR) or huge replies (KEYS, HGETALL on big hashes). Investigate the client; maxmemory-clients can cap the total."
            )
        ]
    }

    static let averageClientMemory = DoctorRule(id: "clients.memory.average", category: .clients) { snapshot, _, report in
        guard let stats = snapshot.memoryStats, let normal = stats["clients.normal"], let clients = snapshot.clients else {
            return []
        }
        let count = clients.filter { !$0.isReplicationLink }.count
        guard count > 0 else { return [] }
        let average = Int(normal) / count
        let evidence = [
            DoctorEvidence("clients.normal", Format.bytesExact(Int(normal))), DoctorEvidence("clients", String(count)),
            DoctorEvidence("average", Format.bytes(average)),
        ]
        // Same test as MEMORY DOCTOR's "big client buffers".
        guard average > averageClientMemoryLimit else { return [report(.ok, "client buffers are small on average", evidence)] }
        return [
            report(
                .warn, "clients use over 200 KB of buffers each on average", evidence,
                advice: "Slow pub/sub subscribers, large replies or deep pipelines pile up in output buffers. Use CLIENT LIST (omem, tot-mem) to find them."
            )
        ]
    }
}
