extension RedisSentinelTopology {
    // MARK: Asking the Sentinels

    /// The port of the primary as a Sentinel reports it (`SENTINEL get-master-addr-by-name`):
    /// the first running Sentinel that answers. Also updates ``primary``.
    ///
    /// Blocking (each Sentinel gets a 2-second timeout). Sentinels may disagree for a moment
    /// during a failover; ``waitForFailover(from:timeout:)`` waits until they agree.
    ///
    /// - Throws: ``RedisServerError/topologyNotReady(_:)`` when no running Sentinel names a primary.
    public func currentPrimaryPort() throws -> Int {
        var problems: [String] = []
        for sentinel in sentinels where sentinel.isRunning {
            do {
                if let port = try primaryPort(reportedBy: sentinel) {
                    notePrimary(port: port)
                    return port
                }
                problems.append("\(sentinel.port): no address for \(serviceName)")
            } catch {
                problems.append("\(sentinel.port): \(error)")
            }
        }
        throw RedisServerError.topologyNotReady(
            "no Sentinel names a primary for \(serviceName): " + (problems.isEmpty ? "none is running" : problems.joined(separator: "; ")))
    }

    /// Waits until every running Sentinel reports the same primary, on a port other than
    /// `oldPort`, and that data node answers `ROLE` as `master`; returns its port and makes it
    /// ``primary``. With the defaults a killed primary is replaced in about 2.3 s.
    ///
    /// This does not wait for the other replicas to follow the new primary; call
    /// ``waitUntilReady(timeout:)`` for that.
    ///
    /// - Throws: ``RedisServerError/topologyNotReady(_:)`` after `timeout`, with what was seen last.
    @discardableResult
    public func waitForFailover(from oldPort: Int, timeout: Duration = .seconds(15)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "not checked yet"
        while true {
            switch failoverState(from: oldPort) {
            case .success(let index):
                primaryIndex.withLock { $0 = index }
                return dataNodes[index].port
            case .failure(let problem):
                lastProblem = problem.detail
            }
            if ContinuousClock.now >= deadline {
                throw RedisServerError.topologyNotReady("no failover from port \(oldPort) after \(timeout): \(lastProblem)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until the running processes form a complete topology around the primary the
    /// Sentinels name: every running replica replicates it with `master_link_status:up`, and
    /// every running Sentinel names it, lists every running replica (neither `s_down` nor
    /// `disconnected`) and sees every other running Sentinel. ``start(_:)`` ends with this; use
    /// it again after fault injection (a failover, a restarted node) to wait until things settle.
    /// Updates ``primary``.
    ///
    /// - Throws: ``RedisServerError/topologyNotReady(_:)`` after `timeout`, with what was missing.
    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "not checked yet"
        while true {
            guard let problem = readinessProblem() else { return }
            lastProblem = problem
            if ContinuousClock.now >= deadline {
                throw RedisServerError.topologyNotReady("Sentinel topology after \(timeout): \(lastProblem)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: Checks

    /// Before the Sentinels start: waits until the primary (the first data node) lists every
    /// replica as `online` and every replica reports `master_link_status:up`.
    func waitUntilReplicated(deadline: ContinuousClock.Instant) async throws {
        let primary = dataNodes[0]
        let replicas = dataNodes.dropFirst()
        var lastProblem = "not checked yet"
        while true {
            do {
                let info = try Self.infoFields(primary.command("INFO", "replication"))
                let online = info.filter { $0.key.hasPrefix("slave") && $0.value.contains("state=online") }.count
                lastProblem = "the primary lists \(online) of \(replicas.count) replicas online"
                if online == replicas.count {
                    let linked = try replicas.filter {
                        try Self.infoFields($0.command("INFO", "replication"))["master_link_status"] == "up"
                    }.count
                    if linked == replicas.count { return }
                    lastProblem = "\(linked) of \(replicas.count) replicas have their link up"
                }
            } catch {
                lastProblem = "\(error)"
            }
            if ContinuousClock.now >= deadline {
                throw RedisServerError.topologyNotReady("replication: \(lastProblem)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// A problem description, as the `Failure` of a check.
    struct Problem: Error {
        var detail: String
    }

    /// The index of the new primary once the Sentinels agree on a promoted node.
    private func failoverState(from oldPort: Int) -> Result<Int, Problem> {
        let running = sentinels.filter(\.isRunning)
        guard !running.isEmpty else { return .failure(Problem(detail: "no Sentinel is running")) }
        var ports = Set<Int>()
        for sentinel in running {
            do {
                guard let port = try primaryPort(reportedBy: sentinel) else {
                    return .failure(Problem(detail: "Sentinel \(sentinel.port) names no primary"))
                }
                ports.insert(port)
            } catch {
                return .failure(Problem(detail: "Sentinel \(sentinel.port): \(error)"))
            }
        }
        guard ports.count == 1, let port = ports.first else {
            return .failure(Problem(detail: "Sentinels disagree: ports \(ports.sorted())"))
        }
        guard port != oldPort else { return .failure(Problem(detail: "Sentinels still name port \(oldPort)")) }
        guard let index = dataNodes.firstIndex(where: { $0.isRunning && $0.port == port }) else {
            return .failure(Problem(detail: "Sentinels name port \(port), which is no running data node"))
        }
        guard case .array(let role?) = try? dataNodes[index].command("ROLE"), role.first?.string == "master" else {
            return .failure(Problem(detail: "port \(port) does not answer ROLE as master yet"))
        }
        return .success(index)
    }

    /// Why the topology is not complete yet, or nil when it is.
    private func readinessProblem() -> String? {
        let runningSentinels = sentinels.filter(\.isRunning)
        let expectedPort: Int
        do {
            expectedPort = try currentPrimaryPort()
        } catch {
            return "\(error)"
        }
        guard primary.isRunning, primary.port == expectedPort else {
            return "the Sentinels name port \(expectedPort), which is no running data node"
        }
        let runningReplicas = replicas.filter(\.isRunning)
        for replica in runningReplicas {
            do {
                let info = try Self.infoFields(replica.command("INFO", "replication"))
                guard info["role"] == "slave", info["master_port"] == String(expectedPort),
                    info["master_link_status"] == "up"
                else {
                    return "replica \(replica.port): role \(info["role"] ?? "?"), primary port "
                        + "\(info["master_port"] ?? "-"), link \(info["master_link_status"] ?? "-")"
                }
            } catch {
                return "replica \(replica.port): \(error)"
            }
        }
        for sentinel in runningSentinels {
            do {
                guard try primaryPort(reportedBy: sentinel) == expectedPort else {
                    return "Sentinel \(sentinel.port) does not name port \(expectedPort) yet"
                }
                let known = try Self.fieldMaps(sentinel.command("SENTINEL", "REPLICAS", serviceName))
                for replica in runningReplicas where !Self.listsHealthy(known, port: replica.port) {
                    return "Sentinel \(sentinel.port) does not list replica \(replica.port) as up yet"
                }
                let peers = try Self.fieldMaps(sentinel.command("SENTINEL", "SENTINELS", serviceName))
                for other in runningSentinels where other !== sentinel && !Self.listsHealthy(peers, port: other.port) {
                    return "Sentinel \(sentinel.port) does not see Sentinel \(other.port) yet"
                }
            } catch {
                return "Sentinel \(sentinel.port): \(error)"
            }
        }
        return nil
    }

    /// The primary's port per `SENTINEL get-master-addr-by-name`, or nil when it names none.
    private func primaryPort(reportedBy sentinel: RedisServer) throws -> Int? {
        let reply = try sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", serviceName)
        switch reply {
        case .array(let address?) where address.count == 2:
            guard let text = address[1].string, let port = Int(text) else {
                throw RedisServerError.protocolError("unexpected address \(reply)")
            }
            return port
        case .array(nil), .bulk(nil):
            return nil
        case .error(let message):
            throw RedisServerError.topologyNotReady("SENTINEL get-master-addr-by-name: \(message)")
        default:
            throw RedisServerError.protocolError("unexpected address \(reply)")
        }
    }

    /// Makes the data node on `port` the ``primary`` (if there is one).
    private func notePrimary(port: Int) {
        guard let index = dataNodes.firstIndex(where: { $0.port == port }) else { return }
        primaryIndex.withLock { $0 = index }
    }

    // MARK: Parsing replies

    /// Whether a `SENTINEL REPLICAS`/`SENTINELS` listing has an entry for `port` that is
    /// neither subjectively down nor disconnected.
    private static func listsHealthy(_ entries: [[String: String]], port: Int) -> Bool {
        entries.contains { entry in
            guard entry["port"] == String(port), let flags = entry["flags"]?.split(separator: ",") else { return false }
            return !flags.contains("s_down") && !flags.contains("o_down") && !flags.contains("disconnected")
        }
    }

    /// `INFO` text as `field: value` pairs.
    static func infoFields(_ reply: RedisReply) throws -> [String: String] {
        guard case .bulk(let text?) = reply else {
            throw RedisServerError.protocolError("INFO gave \(reply)")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// An array of flat `field, value, ...` arrays (RESP2 `SENTINEL REPLICAS`) as dictionaries.
    static func fieldMaps(_ reply: RedisReply) throws -> [[String: String]] {
        if case .error(let message) = reply { throw RedisServerError.topologyNotReady(message) }
        guard case .array(let entries?) = reply else {
            throw RedisServerError.protocolError("expected an array, got \(reply)")
        }
        return entries.map { entry in
            guard case .array(let items?) = entry else { return [:] }
            var fields: [String: String] = [:]
            var index = 0
            while index + 1 < items.count {
                if let key = items[index].string, let value = items[index + 1].string { fields[key] = value }
                index += 2
            }
            return fields
        }
    }
}
