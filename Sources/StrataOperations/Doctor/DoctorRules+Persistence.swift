extension DoctorRule {
    /// Persistence: RDB/AOF mode versus the stated use, and the last save and write status.
    static let persistenceRules: [DoctorRule] = [persistenceMode, rdbStatus, aofStatus]

    static let persistenceMode = DoctorRule(id: "persistence.mode", category: .persistence) { snapshot, policy, report in
        let save = snapshot.config?["save"]
        let aof = snapshot.config?["appendonly"] ?? (snapshot.infoInt("aof_enabled") == 1 ? "yes" : "no")
        let rdb = save.map { !$0.isEmpty } ?? false
        let evidence = [DoctorEvidence("save", save.map { $0.isEmpty ? "\"\"" : $0 } ?? "unknown"), DoctorEvidence("appendonly", aof)]
        let mode = [rdb ? "RDB snapshots" : nil, aof == "yes" ? "AOF" : nil].compactMap { $0 }.joined(separator: " + ")
        switch policy.use {
        case .cache:
            if mode.isEmpty {
                return [report(.info, "no persistence: a restart starts with an empty (cold) cache", evidence)]
            }
            return [
                report(
                    .info, "persistence on (\(mode)): restarts keep a warm cache, at the cost of forks and disk writes",
                    evidence, advice: "Fine if a warm restart matters; a pure cache can turn persistence off to avoid fork latency."
                )
            ]
        case .store:
            if aof == "yes" { return [report(.ok, "AOF persistence is on", evidence)] }
            if rdb {
                return [
                    report(
                        .warn, "only RDB snapshots: writes since the last snapshot are lost on a crash", evidence,
                        advice: "Enable AOF (appendonly yes, appendfsync everysec) for a store."
                    )
                ]
            }
            return [
                report(
                    .crit, "no persistence on a store: a restart loses every key", evidence,
                    advice: "Enable AOF (appendonly yes) and/or RDB snapshots (save 3600 1 300 100 60 10000)."
                )
            ]
        }
    }

    static let rdbStatus = DoctorRule(id: "persistence.rdb-status", category: .persistence) { snapshot, _, report in
        guard let status = snapshot.info["rdb_last_bgsave_status"] else { return [] }
        let stopWrites = snapshot.config?["stop-writes-on-bgsave-error"] ?? "yes"
        let saving = !(snapshot.config?["save"] ?? "").isEmpty
        let evidence = [
            DoctorEvidence("rdb_last_bgsave_status", status), DoctorEvidence("stop-writes-on-bgsave-error", stopWrites),
        ]
        guard status != "ok" else { return [report(.ok, "the last RDB save succeeded (or none ran)", evidence)] }
        let refusesWrites = stopWrites == "yes" && saving
        return [
            report(
                refusesWrites ? .crit : .warn,
                refusesWrites ? "the last RDB save failed and Redis refuses writes until one succeeds" : "the last RDB save failed",
                evidence,
                advice: "Check the server log for the save error (disk full, permissions, fork failure: vm.overcommit_memory=1)."
            )
        ]
    }

    static let aofStatus = DoctorRule(id: "persistence.aof-status", category: .persistence) { snapshot, _, report in
        guard snapshot.infoInt("aof_enabled") == 1 else { return [] }
        let write = snapshot.info["aof_last_write_status"] ?? "unknown"
        let rewrite = snapshot.info["aof_last_bgrewrite_status"] ?? "unknown"
        let evidence = [DoctorEvidence("aof_last_write_status", write), DoctorEvidence("aof_last_bgrewrite_status", rewrite)]
        if write != "ok" {
            return [
                report(
                    .crit, "the last AOF write failed: Redis refuses writes until the AOF is writable", evidence,
                    advice: "Check the disk (space, I/O errors) and the server log."
                )
            ]
        }
        if rewrite != "ok" {
            return [report(.warn, "the last AOF rewrite failed: the AOF keeps growing", evidence, advice: "Check the server log for the rewrite error.")]
        }
        return [report(.ok, "AOF writes and rewrites succeed", evidence)]
    }
}
