public import Redis
import NIOCore
import RESP

/// Reads a ``DoctorSnapshot`` from one node: the I/O shell around the pure ``DoctorRule``s.
///
/// Only `INFO` is required. Every other read that fails (refused by ACL, renamed away, unknown
/// to an older server) leaves its field nil and is named in ``DoctorSnapshot/unreadable`` by
/// the error's code word, so the report shows the gap instead of failing.
///
/// The key sample is bounded (``Options/sampleSize`` keys) and throttled
/// (``Options/sampleRate`` keys per second), so auditing a busy production node costs it at most a
/// few thousand cheap commands.
public struct DoctorCollector: Sendable {
    /// How much the collector reads.
    public struct Options: Sendable, Hashable {
        /// Keys to sample with `SCAN` + `PTTL` + `MEMORY USAGE`; 0 skips the sample.
        public var sampleSize: Int
        /// The `COUNT` hint of each `SCAN` page.
        public var scanCount: Int
        /// The highest sampling rate, in keys per second; nil for no limit.
        public var sampleRate: Double?
        /// `MEMORY USAGE ... SAMPLES n`: nested elements sampled per key.
        public var memoryUsageSamples: Int

        /// Creates options; by default 1000 keys at most 2000 keys per second.
        public init(sampleSize: Int = 1000, scanCount: Int = 100, sampleRate: Double? = 2000, memoryUsageSamples: Int = 5) {
            self.sampleSize = sampleSize
            self.scanCount = scanCount
            self.sampleRate = sampleRate
            self.memoryUsageSamples = memoryUsageSamples
        }
    }

    /// What to read.
    public var options: Options

    /// Creates a collector.
    public init(options: Options = Options()) { self.options = options }

    /// Reads a snapshot from `executor`, named `node` in the report.
    ///
    /// - Parameters:
    ///   - readShards: also read `CLUSTER SHARDS` (on the node the audit starts from).
    ///   - endpoint: the node's address, to resolve `CLUSTER SHARDS` entries that omit it.
    /// - Throws: ``RedisError`` only when `INFO` itself fails.
    public func collect(
        from executor: some RedisCommandExecutor, node: String, endpoint: RedisEndpoint, readShards: Bool = false
    ) async throws(RedisError) -> DoctorSnapshot {
        let info = try await executor.send(INFO("all"))
        var snapshot = DoctorSnapshot(node: node, info: info)
        var unreadable: [String: String] = [:]
        func attempt<T>(_ label: String, _ body: () async throws(RedisError) -> T) async -> T? {
            do {
                return try await body()
            } catch {
                unreadable[label] = error.serverCode ?? error.code.description
                return nil
            }
        }
        snapshot.config = await attempt("CONFIG GET") { () async throws(RedisError) in try await executor.send(CONFIGGET("*")) }
        snapshot.memoryStats = await attempt("MEMORY STATS") { () async throws(RedisError) in
            DoctorParsing.memoryStats(try await executor.send(MEMORYSTATS()))
        }
        snapshot.memoryDoctor = await attempt("MEMORY DOCTOR") { () async throws(RedisError) in try await executor.send(MEMORYDOCTOR()) }
        snapshot.slowlogLength = await attempt("SLOWLOG LEN") { () async throws(RedisError) in
            try Int(fromRESP: try await executor.send(RawCommand(["SLOWLOG", "LEN"])))
        }
        snapshot.latencyEvents = await attempt("LATENCY LATEST") { () async throws(RedisError) in
            DoctorParsing.elements(RESPValue(try await executor.send(RawCommand(["LATENCY", "LATEST"])))).compactMap {
                DoctorParsing.elements($0).first.flatMap(DoctorParsing.text)
            }
        }
        snapshot.clients = await attempt("CLIENT LIST") { () async throws(RedisError) in
            DoctorParsing.clients(clientList: try String(fromRESP: try await executor.send(RawCommand(["CLIENT", "LIST"]))))
        }
        snapshot.access = await readAccess(executor, unreadable: &unreadable)
        if info["cluster_enabled"] == "1" {
            snapshot.cluster = await attempt("CLUSTER INFO") { () async throws(RedisError) in
                DoctorClusterFacts(
                    info: DoctorParsing.fields(infoText: try String(fromRESP: try await executor.send(RawCommand(["CLUSTER", "INFO"]))))
                )
            }
            if readShards, snapshot.cluster != nil {
                snapshot.cluster?.topology = await attempt("CLUSTER SHARDS") { () async throws(RedisError) in
                    try ClusterTopology(shardsReply: try await executor.send(RawCommand(["CLUSTER", "SHARDS"])), askedNode: endpoint)
                }
            }
        }
        if options.sampleSize > 0 {
            snapshot.keySample = await attempt("key sample (SCAN)") { () async throws(RedisError) in try await sampleKeys(executor) }
        }
        snapshot.unreadable = unreadable
        return snapshot
    }

    private func readAccess(
        _ executor: some RedisCommandExecutor, unreadable: inout [String: String]
    ) async -> DoctorAccessFacts? {
        let user: String
        do {
            user = try String(fromRESP: try await executor.send(RawCommand(["ACL", "WHOAMI"])))
        } catch {
            unreadable["ACL WHOAMI"] = error.serverCode ?? error.code.description
            return nil
        }
        var flags: [String]?
        do {
            let reply = RESPValue(try await executor.send(RawCommand(["ACL", "GETUSER", "default"])))
            flags = DoctorParsing.keyValuePairs(reply).first { $0.0 == "flags" }.map {
                DoctorParsing.elements($0.1).compactMap(DoctorParsing.text)
            }
        } catch {
            unreadable["ACL GETUSER"] = error.serverCode ?? error.code.description
        }
        var dangerous: [String: Bool] = [:]
        for probe in DoctorRule.dangerousCommandProbes {
            do {
                let reply = try await executor.send(RawCommand(["ACL", "DRYRUN", user] + probe))
                // DRYRUN answers +OK when allowed and a bulk string explaining the denial otherwise.
                if case .simpleString = reply.value { dangerous[probe[0]] = true } else { dangerous[probe[0]] = false }
            } catch {
                unreadable["ACL DRYRUN"] = error.serverCode ?? error.code.description
                break
            }
        }
        return DoctorAccessFacts(user: user, defaultUserFlags: flags, dangerousCommands: dangerous)
    }

    /// Walks the keyspace with `SCAN` until ``Options/sampleSize`` keys were examined, pipelining
    /// `PTTL` and `MEMORY USAGE` per page and pausing between pages to stay under the rate.
    private func sampleKeys(_ executor: some RedisCommandExecutor) async throws(RedisError) -> DoctorKeySample {
        let clock = ContinuousClock()
        let start = clock.now
        let pacer = Pacer(operationsPerSecond: options.sampleRate)
        var sample = DoctorKeySample(sampled: 0, withoutTTL: 0, complete: false)
        var cursor: UInt64 = 0
        var examined = 0
        repeat {
            let page = try await executor.send(ScanKeys(cursor: cursor, match: nil, count: options.scanCount))
            cursor = page.cursor
            let keys = page.keys.prefix(options.sampleSize - examined)
            examined += keys.count
            var commands: [any RedisCommand] = []
            for key in keys {
                commands.append(KeyPTTL(key: key))
                commands.append(KeyMemoryUsage(key: key, samples: options.memoryUsageSamples))
            }
            let replies = try await executor.pipeline(commands)
            for (index, key) in keys.enumerated() {
                guard let ttl = replies[2 * index].decoded(as: Int.self), ttl != -2 else { continue }
                sample.sampled += 1
                let name = String(buffer: key)
                if ttl == -1 {
                    sample.withoutTTL += 1
                    if DoctorKeySample.isTagEpochKey(name) { sample.tagEpochKeys += 1 }
                }
                if let bytes = replies[2 * index + 1].decoded(as: Int.self) {
                    sample.sizes.append(bytes)
                    sample.record(name: name, bytes: bytes)
                }
            }
            if cursor == 0 {
                sample.complete = keys.count == page.keys.count
                break
            }
            let pause = pacer.delay(afterCompleting: examined, elapsed: clock.now - start)
            if pause > .zero {
                do { try await Task.sleep(for: pause) } catch { throw RedisError(.cancelled) }
            }
        } while examined < options.sampleSize
        return sample
    }
}

extension DoctorKeySample {
    /// Keeps the ten largest keys, biggest first.
    mutating func record(name: String, bytes: Int) {
        guard largest.count < 10 || bytes > (largest.last?.bytes ?? 0) else { return }
        let index = largest.firstIndex { $0.bytes < bytes } ?? largest.endIndex
        largest.insert(SizedKey(name: name, bytes: bytes), at: index)
        if largest.count > 10 { largest.removeLast() }
    }
}
