extension DoctorRule {
    /// Eviction: the policy versus the stated use, TTL coverage, evictions and stale expired keys.
    static let evictionRules: [DoctorRule] = [
        evictionPolicy, volatileWithoutTTL, keysWithoutTTL, tagEpochsEvictable, evictedKeys, expiredStale,
    ]

    /// Above this share of expired-but-not-yet-deleted keys, the active expire cycle is losing:
    /// Redis's cycle aims to keep it at 10 % or less.
    static let expiredStaleWarningPercent = 10.0

    static let evictionPolicy = DoctorRule(id: "eviction.policy", category: .eviction) { snapshot, policy, report in
        guard let name = snapshot.maxmemoryPolicy else { return [] }
        let evidence = [DoctorEvidence("maxmemory-policy", name)]
        switch (policy.use, name) {
        case (.cache, "noeviction"):
            return [
                report(
                    .crit, "maxmemory-policy is noeviction: a full cache refuses writes with OOM errors", evidence,
                    advice: "CONFIG SET maxmemory-policy allkeys-lru (or allkeys-lfu for skewed popularity), and persist it in redis.conf."
                )
            ]
        case (.store, let name) where name != "noeviction":
            return [
                report(
                    .warn, "maxmemory-policy \(name) evicts data from a store", evidence,
                    advice: "A primary store should not lose keys silently: use noeviction and alert on OOM errors."
                )
            ]
        default:
            return [report(.ok, "eviction policy \(name) fits a \(policy.use.rawValue)", evidence)]
        }
    }

    static let volatileWithoutTTL = DoctorRule(id: "eviction.volatile-without-ttl", category: .eviction) {
        snapshot, policy, report in
        guard let name = snapshot.maxmemoryPolicy, name.hasPrefix("volatile-"), let sample = snapshot.keySample,
            sample.sampled >= policy.minimumKeySample
        else { return [] }
        let share = sample.shareWithoutTTL
        let evidence = [
            DoctorEvidence("maxmemory-policy", name), DoctorEvidence("sampled keys", String(sample.sampled)),
            DoctorEvidence("without TTL", "\(sample.withoutTTL) (\(Format.percent(share)))"),
        ]
        let advice =
            "volatile-* policies only evict keys with a TTL. Use allkeys-lru/allkeys-lfu, or give every cache key a TTL."
        if sample.withoutTTL == sample.sampled {
            return [report(.crit, "volatile eviction but no sampled key has a TTL: nothing can be evicted", evidence, advice: advice)]
        }
        guard share >= policy.volatileWithoutTTLWarning else {
            return [report(.ok, "most sampled keys have a TTL, so volatile eviction has candidates", evidence)]
        }
        return [report(.warn, "volatile eviction but most sampled keys have no TTL", evidence, advice: advice)]
    }

    static let keysWithoutTTL = DoctorRule(id: "eviction.keys-without-ttl", category: .eviction) { snapshot, policy, report in
        guard let sample = snapshot.keySample, sample.sampled > 0 else { return [] }
        let share = sample.shareWithoutTTL
        let evidence = [
            DoctorEvidence("sampled keys", String(sample.sampled) + (sample.complete ? " (all)" : "")),
            DoctorEvidence("without TTL", "\(sample.withoutTTL) (\(Format.percent(share)))"),
            DoctorEvidence("maxmemory", snapshot.maxmemory.map(Format.bytes) ?? "unknown"),
        ]
        if policy.use == .cache, snapshot.maxmemory == 0, sample.sampled >= policy.minimumKeySample,
            share >= policy.volatileWithoutTTLWarning
        {
            return [
                report(
                    .warn, "most sampled keys never expire and there is no maxmemory: the cache only grows", evidence,
                    advice: "Give cache entries a TTL, and set maxmemory with an allkeys-* policy."
                )
            ]
        }
        return [report(.info, "\(Format.percent(share)) of sampled keys have no TTL", evidence)]
    }

    /// Tag epoch counters never expire; under `allkeys-*` one can be evicted, restart low, and a
    /// later bump would then leave entries stamped with the old, higher epoch looking current.
    static let tagEpochsEvictable = DoctorRule(id: "eviction.tag-epochs", category: .eviction) { snapshot, _, report in
        guard let sample = snapshot.keySample, sample.tagEpochKeys > 0, let name = snapshot.maxmemoryPolicy else { return [] }
        let evidence = [
            DoctorEvidence("maxmemory-policy", name), DoctorEvidence("sampled tag epoch counters", String(sample.tagEpochKeys)),
        ]
        guard name.hasPrefix("allkeys-") else {
            return [report(.ok, "tag epoch counters (no TTL) are never evicted under \(name)", evidence)]
        }
        return [
            report(
                .warn, "tag epoch counters have no TTL and \(name) may evict them: an evicted counter restarts low and later tag invalidations can miss entries until they expire",
                evidence,
                advice: "Use volatile-lru or volatile-lfu: every Strata cache entry, lease and watermark has a TTL and stays evictable, while TTL-less keys (tag epochs, write-behind streams) are kept."
            )
        ]
    }

    static let evictedKeys = DoctorRule(id: "eviction.evicted", category: .eviction) { snapshot, _, report in
        guard let evicted = snapshot.infoInt("evicted_keys") else { return [] }
        var evidence = [DoctorEvidence("evicted_keys", String(evicted))]
        if let clients = snapshot.infoInt("evicted_clients") { evidence.append(DoctorEvidence("evicted_clients", String(clients))) }
        guard evicted > 0 else { return [report(.ok, "no key evicted since start", evidence)] }
        return [
            report(
                .info, "\(evicted) keys evicted since start", evidence,
                advice: "Expected for a full cache. If the hit ratio suffers, raise maxmemory or shorten TTLs of cold data."
            )
        ]
    }

    static let expiredStale = DoctorRule(id: "eviction.expired-stale", category: .eviction) { snapshot, _, report in
        guard let stale = snapshot.infoDouble("expired_stale_perc") else { return [] }
        let evidence = [DoctorEvidence("expired_stale_perc", String(stale))]
        guard stale > expiredStaleWarningPercent else {
            return [report(.ok, "expired keys are reclaimed promptly", evidence)]
        }
        return [
            report(
                .warn, "an estimated \(stale) % of keys are expired but not yet deleted", evidence,
                advice: "The active expire cycle is falling behind: raise active-expire-effort (1–10) or hz, and avoid bursts of keys with the same expiry."
            )
        ]
    }
}
