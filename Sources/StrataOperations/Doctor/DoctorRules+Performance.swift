extension DoctorRule {
    /// Performance: hit ratio, latency monitor, slow log, big keys, the client-tracking table.
    static let performanceRules: [DoctorRule] = [hitRatio, latencyMonitor, slowlog, bigKeys, trackingTable]

    static let hitRatio = DoctorRule(id: "performance.hit-ratio", category: .performance) { snapshot, policy, report in
        guard let hits = snapshot.infoInt("keyspace_hits"), let misses = snapshot.infoInt("keyspace_misses") else { return [] }
        let lookups = hits + misses
        let ratio = lookups == 0 ? 0 : Double(hits) / Double(lookups)
        let evidence = [
            DoctorEvidence("keyspace_hits", String(hits)), DoctorEvidence("keyspace_misses", String(misses)),
            DoctorEvidence("hit ratio", lookups == 0 ? "n/a" : Format.percent(ratio)),
        ]
        guard lookups >= policy.minimumLookupsForHitRatio else {
            return [report(.info, "too few lookups (\(lookups)) to judge the hit ratio", evidence)]
        }
        guard ratio < policy.hitRatioWarning else { return [report(.ok, "hit ratio \(Format.percent(ratio))", evidence)] }
        return [
            report(
                .warn, "hit ratio is \(Format.percent(ratio)): most reads miss", evidence,
                advice: "Counters are since start (CONFIG RESETSTAT to restart them). Check TTLs are not too short, keys are stable, and evictions (eviction.evicted) are not removing hot data."
            )
        ]
    }

    static let latencyMonitor = DoctorRule(id: "performance.latency-monitor", category: .performance) { snapshot, _, report in
        guard let threshold = snapshot.configInt("latency-monitor-threshold") else { return [] }
        var evidence = [DoctorEvidence("latency-monitor-threshold", "\(threshold) ms")]
        guard threshold > 0 else {
            return [
                report(
                    .info, "the latency monitor is off", evidence,
                    advice: "CONFIG SET latency-monitor-threshold 100 records latency spikes (LATENCY LATEST, LATENCY DOCTOR) at negligible cost."
                )
            ]
        }
        let events = snapshot.latencyEvents ?? []
        evidence.append(DoctorEvidence("events", events.isEmpty ? "none" : events.joined(separator: ", ")))
        guard events.isEmpty else {
            return [
                report(
                    .info, "latency spikes above \(threshold) ms were recorded", evidence,
                    advice: "LATENCY DOCTOR explains them; common causes are forks, expiry bursts and slow commands."
                )
            ]
        }
        return [report(.ok, "the latency monitor is on and recorded no spike", evidence)]
    }

    static let slowlog = DoctorRule(id: "performance.slowlog", category: .performance) { snapshot, _, report in
        guard let length = snapshot.slowlogLength else { return [] }
        let slowerThan = snapshot.configInt("slowlog-log-slower-than")
        let maximum = snapshot.configInt("slowlog-max-len")
        let evidence = [
            DoctorEvidence("SLOWLOG LEN", String(length)),
            DoctorEvidence("slowlog-log-slower-than", slowerThan.map { "\($0) µs" } ?? "unknown"),
            DoctorEvidence("slowlog-max-len", maximum.map(String.init) ?? "unknown"),
        ]
        if let slowerThan, slowerThan < 0 {
            return [report(.info, "the slow log is disabled", evidence, advice: "CONFIG SET slowlog-log-slower-than 10000 (10 ms).")]
        }
        let advice = "SLOWLOG GET shows the commands; look for O(N) commands (KEYS, SMEMBERS, HGETALL, big DEL) on big values."
        if let maximum, maximum > 0, length >= maximum {
            return [report(.warn, "the slow log is full (\(length) entries): slow commands keep happening", evidence, advice: advice)]
        }
        guard length > 0 else { return [report(.ok, "no slow command logged", evidence)] }
        return [report(.info, "\(length) slow commands logged", evidence, advice: advice)]
    }

    static let bigKeys = DoctorRule(id: "performance.big-keys", category: .performance) { snapshot, policy, report in
        guard let sample = snapshot.keySample, sample.sampled > 0 else { return [] }
        let big = sample.sizes.filter { $0 >= policy.bigKeyBytes }.count
        var evidence = [
            DoctorEvidence("sampled keys", String(sample.sampled) + (sample.complete ? " (all)" : "")),
            DoctorEvidence("keys ≥ \(Format.bytes(policy.bigKeyBytes))", String(big)),
        ]
        let listed = sample.largest.filter { $0.bytes >= policy.bigKeyBytes }.prefix(5)
        for key in listed { evidence.append(DoctorEvidence(String(key.name.prefix(80)), Format.bytes(key.bytes))) }
        guard big > 0 else { return [report(.ok, "no sampled key reaches \(Format.bytes(policy.bigKeyBytes))", evidence)] }
        return [
            report(
                .warn, "\(big) of \(sample.sampled) sampled keys use \(Format.bytes(policy.bigKeyBytes)) or more", evidence,
                advice: "Big keys block the server when read whole, deleted (use UNLINK) or migrated, and unbalance a cluster. Split them or cache smaller parts."
            )
        ]
    }

    static let trackingTable = DoctorRule(id: "performance.tracking-table", category: .performance) { snapshot, policy, report in
        guard let keys = snapshot.infoInt("tracking_total_keys"), let maximum = snapshot.configInt("tracking-table-max-keys") else {
            return []
        }
        let evidence = [
            DoctorEvidence("tracking_total_keys", String(keys)), DoctorEvidence("tracking-table-max-keys", String(maximum)),
        ]
        guard maximum > 0 else { return [report(.ok, "client-tracking table is unbounded", evidence)] }
        let share = Double(keys) / Double(maximum)
        guard share >= policy.trackingTableWarning else {
            return [report(.ok, "client-tracking table at \(Format.percent(share)) of its limit", evidence)]
        }
        return [
            report(
                .warn, "client-tracking table at \(Format.percent(share)) of its limit", evidence,
                advice: "When full, Redis evicts tracked keys and sends invalidations for them, emptying near caches. Raise tracking-table-max-keys or use BCAST with prefixes."
            )
        ]
    }
}
