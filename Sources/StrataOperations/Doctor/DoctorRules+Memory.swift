extension DoctorRule {
    /// Memory: `maxmemory`, usage, fragmentation (Redis's `MEMORY DOCTOR` thresholds), defrag, swapping.
    static let memoryRules: [DoctorRule] = [
        maxmemory, memoryUsage, memoryDoctorReport, totalFragmentation, allocatorFragmentation, allocatorRSS,
        processRSS, peak, activeDefrag, swapping,
    ]

    /// `MEMORY DOCTOR` skips its checks below 5 MB allocated: ratios of tiny numbers mean nothing.
    static let memoryDoctorMinimumAllocated = 5 << 20
    /// `MEMORY DOCTOR` only reports overheads larger than 10 MB.
    static let memoryDoctorMinimumBytes = 10 << 20

    static let maxmemory = DoctorRule(id: "memory.maxmemory", category: .memory) { snapshot, policy, report in
        guard let maxmemory = snapshot.maxmemory else { return [] }
        let evidence = [DoctorEvidence("maxmemory", Format.bytesExact(maxmemory))]
        guard maxmemory == 0 else { return [report(.ok, "maxmemory is set", evidence)] }
        switch policy.use {
        case .cache:
            return [
                report(
                    .crit, "maxmemory is not set: the cache grows until the OS kills Redis, and never evicts", evidence,
                    advice: "Set maxmemory to what the host can spare (leave room for fork copy-on-write and buffers), e.g. CONFIG SET maxmemory 4gb, and persist it in redis.conf."
                )
            ]
        case .store:
            return [
                report(
                    .warn, "maxmemory is not set: memory is bounded only by the host", evidence,
                    advice: "Set maxmemory below the host's memory so Redis answers OOM errors instead of being killed."
                )
            ]
        }
    }

    static let memoryUsage = DoctorRule(id: "memory.usage", category: .memory) { snapshot, policy, report in
        guard let maxmemory = snapshot.maxmemory, maxmemory > 0, let used = snapshot.infoInt("used_memory") else {
            return []
        }
        let share = Double(used) / Double(maxmemory)
        let evidence = [
            DoctorEvidence("used_memory", Format.bytesExact(used)), DoctorEvidence("maxmemory", Format.bytesExact(maxmemory)),
            DoctorEvidence("usage", Format.percent(share)),
        ]
        guard share >= policy.memoryUsageWarning else { return [report(.ok, "memory usage is below the limit", evidence)] }
        return [
            report(
                .warn, "memory usage is at \(Format.percent(share)) of maxmemory", evidence,
                advice: "For an LRU/LFU cache a full memory is normal if evictions are expected; otherwise raise maxmemory, shorten TTLs or shrink values. Check evicted_keys."
            )
        ]
    }

    static let memoryDoctorReport = DoctorRule(id: "memory.doctor", category: .memory) { snapshot, _, report in
        guard let text = snapshot.memoryDoctor else { return [] }
        // MEMORY DOCTOR starts its report with this sentence only when it detected issues.
        guard text.contains("I detected a few issues") else {
            return [report(.ok, "MEMORY DOCTOR reports no issue (or too little data to judge)")]
        }
        return [
            report(
                .info, "MEMORY DOCTOR reports issues (quoted below; the memory.* findings cover each)",
                advice: "See the memory findings above; MEMORY DOCTOR's text explains each issue.", detail: text
            )
        ]
    }

    /// One `MEMORY DOCTOR` ratio check: fires when the ratio is above `ratioLimit` and the bytes
    /// above 10 MB, exactly as Redis decides (strictly greater), and only above 5 MB allocated.
    private static func overheadRule(
        id: String, ratioField: String, bytesField: String, ratioLimit: Double, title: String, advice: String
    ) -> DoctorRule {
        DoctorRule(id: id, category: .memory) { snapshot, _, report in
            guard let stats = snapshot.memoryStats, let ratio = stats[ratioField], let bytes = stats[bytesField],
                let allocated = stats["total.allocated"]
            else { return [] }
            let evidence = [
                DoctorEvidence(ratioField, Format.ratio(ratio)), DoctorEvidence(bytesField, Format.bytesExact(Int(bytes))),
                DoctorEvidence("total.allocated", Format.bytesExact(Int(allocated))),
            ]
            if Int(allocated) < memoryDoctorMinimumAllocated {
                return [report(.ok, "too little memory allocated to judge (under 5 MB, as MEMORY DOCTOR)", evidence)]
            }
            guard ratio > ratioLimit, Int(bytes) > memoryDoctorMinimumBytes else {
                return [report(.ok, "within MEMORY DOCTOR's limits (ratio \(ratioLimit), 10 MB)", evidence)]
            }
            return [report(.warn, title, evidence, advice: advice)]
        }
    }

    static let totalFragmentation = overheadRule(
        id: "memory.fragmentation.total", ratioField: "fragmentation", bytesField: "fragmentation.bytes", ratioLimit: 1.4,
        title: "RSS is more than 1.4× the memory Redis allocated (and over 10 MB more)",
        advice: "Usually a past memory peak (see memory.peak) or a fragmenting workload. Check the allocator is jemalloc; consider activedefrag or MEMORY PURGE."
    )

    static let allocatorFragmentation = overheadRule(
        id: "memory.fragmentation.allocator", ratioField: "allocator-fragmentation.ratio",
        bytesField: "allocator-fragmentation.bytes", ratioLimit: 1.1,
        title: "allocator external fragmentation is above 1.1 (and over 10 MB)",
        advice: "Enable active defragmentation (CONFIG SET activedefrag yes) or restart the node during a quiet period."
    )

    static let allocatorRSS = overheadRule(
        id: "memory.rss-overhead.allocator", ratioField: "allocator-rss.ratio", bytesField: "allocator-rss.bytes",
        ratioLimit: 1.1,
        title: "the allocator holds more than 1.1× the pages it uses (and over 10 MB)",
        advice: "Usually after a memory peak; MEMORY PURGE returns dirty pages to the OS."
    )

    static let processRSS = overheadRule(
        id: "memory.rss-overhead.process", ratioField: "rss-overhead.ratio", bytesField: "rss-overhead.bytes",
        ratioLimit: 1.1,
        title: "the process RSS is more than 1.1× the allocator's (and over 10 MB)",
        advice: "Memory outside the allocator: Lua scripts, modules, or copy-on-write pages during a fork."
    )

    static let peak = DoctorRule(id: "memory.peak", category: .memory) { snapshot, _, report in
        guard let stats = snapshot.memoryStats, let peak = stats["peak.allocated"], let allocated = stats["total.allocated"],
            allocated > 0
        else { return [] }
        let ratio = peak / allocated
        let evidence = [
            DoctorEvidence("peak.allocated", Format.bytesExact(Int(peak))),
            DoctorEvidence("total.allocated", Format.bytesExact(Int(allocated))), DoctorEvidence("peak/allocated", Format.ratio(ratio)),
        ]
        guard Int(allocated) >= memoryDoctorMinimumAllocated, ratio > 1.5 else {
            return [report(.ok, "no memory peak above 1.5× current use", evidence)]
        }
        return [
            report(
                .info, "memory peaked at more than 1.5× the current use", evidence,
                advice: "Harmless by itself (the allocator keeps pages for the next fill); MEMORY PURGE may return them. It explains high fragmentation ratios."
            )
        ]
    }

    static let activeDefrag = DoctorRule(id: "memory.activedefrag", category: .memory) { snapshot, policy, report in
        guard let config = snapshot.config, let enabled = config["activedefrag"], snapshot.memoryStats != nil else { return [] }
        let fragmented = allocatorFragmentation.evaluate(snapshot, policy: policy).contains { $0.severity == .warn }
        let allocator = snapshot.info["mem_allocator"] ?? "unknown"
        let evidence = [DoctorEvidence("activedefrag", enabled), DoctorEvidence("mem_allocator", allocator)]
        guard fragmented, enabled == "no", allocator.hasPrefix("jemalloc") else {
            return [report(.ok, fragmented ? "active defragmentation is on" : "no allocator fragmentation to defragment", evidence)]
        }
        return [
            report(
                .warn, "allocator memory is fragmented and active defragmentation is off", evidence,
                advice: "CONFIG SET activedefrag yes (jemalloc only); it reclaims fragmented memory in the background at a bounded CPU cost."
            )
        ]
    }

    static let swapping = DoctorRule(id: "memory.swap", category: .memory) { snapshot, _, report in
        guard let used = snapshot.infoInt("used_memory"), let rss = snapshot.infoInt("used_memory_rss"), rss > 0 else {
            return []
        }
        let evidence = [
            DoctorEvidence("used_memory", Format.bytesExact(used)), DoctorEvidence("used_memory_rss", Format.bytesExact(rss)),
            DoctorEvidence("rss/used", Format.ratio(Double(rss) / Double(max(used, 1)))),
        ]
        // RSS well below what the allocator handed out means pages left RAM: swapped out.
        guard Double(used) >= 1.5 * Double(rss), used - rss >= memoryDoctorMinimumBytes else {
            return [report(.ok, "resident memory covers what Redis allocated (no sign of swapping)", evidence)]
        }
        return [
            report(
                .crit, "Redis uses far more memory than is resident: part of it is swapped out", evidence,
                advice: "Swapped pages turn microsecond reads into disk reads. Lower maxmemory, add RAM, or disable swap for the Redis host."
            )
        ]
    }
}
