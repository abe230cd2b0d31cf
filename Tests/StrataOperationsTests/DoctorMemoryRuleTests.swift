import StrataOperations
import Testing

/// Memory and eviction rules on the recorded payloads, probed just below and at each threshold.
@Suite("Doctor memory and eviction rules")
struct DoctorMemoryRuleTests {
    let healthy = DoctorFixture.healthy.snapshot
    static let tenMB = Double(10 << 20)

    @Test func healthyRecordingHasNoWarningOrCritical() {
        let findings = DoctorRule.evaluate(healthy)
        let problems = findings.filter { $0.severity == .crit || $0.severity == .warn }.map(\.id)
        #expect(problems == [])
        #expect(findings.filter { $0.severity == .ok }.count >= 20)
    }

    @Test func unsetMaxmemoryIsCriticalForACacheAndAWarningForAStore() {
        let unset = healthy.with { $0.config?["maxmemory"] = "0" }
        #expect(unset.severity(of: "memory.maxmemory") == .crit)
        #expect(unset.severity(of: "memory.maxmemory", policy: DoctorPolicy(use: .store)) == .warn)
        #expect(healthy.severity(of: "memory.maxmemory") == .ok)
    }

    @Test func memoryUsageWarnsFromNinetyPercent() {
        let limited = healthy.with { $0.config?["maxmemory"] = "1000000" }
        #expect(limited.with { $0.info["used_memory"] = "899999" }.severity(of: "memory.usage") == .ok)
        #expect(limited.with { $0.info["used_memory"] = "900000" }.severity(of: "memory.usage") == .warn)
    }

    /// MEMORY DOCTOR fires when the ratio is strictly above its limit and the bytes strictly above
    /// 10 MB; at exactly the limit it stays quiet, and so does the doctor.
    @Test(arguments: [
        ("memory.fragmentation.total", "fragmentation", "fragmentation.bytes", 1.4),
        ("memory.fragmentation.allocator", "allocator-fragmentation.ratio", "allocator-fragmentation.bytes", 1.1),
        ("memory.rss-overhead.allocator", "allocator-rss.ratio", "allocator-rss.bytes", 1.1),
        ("memory.rss-overhead.process", "rss-overhead.ratio", "rss-overhead.bytes", 1.1),
    ])
    func overheadFiresJustAboveMemoryDoctorsLimits(id: String, ratioField: String, bytesField: String, limit: Double) {
        func snapshot(ratio: Double, bytes: Double, allocated: Double = Double(32 << 20)) -> DoctorSnapshot {
            healthy.with {
                $0.memoryStats?[ratioField] = ratio
                $0.memoryStats?[bytesField] = bytes
                $0.memoryStats?["total.allocated"] = allocated
            }
        }
        #expect(snapshot(ratio: limit, bytes: Self.tenMB + 1).severity(of: id) == .ok)
        #expect(snapshot(ratio: limit + 0.0001, bytes: Self.tenMB).severity(of: id) == .ok)
        #expect(snapshot(ratio: limit + 0.0001, bytes: Self.tenMB + 1).severity(of: id) == .warn)
        // Under 5 MB allocated MEMORY DOCTOR does not judge, and neither does the rule.
        #expect(snapshot(ratio: 9, bytes: 100 * Self.tenMB, allocated: Double(5 << 20) - 1).severity(of: id) == .ok)
    }

    @Test func peakIsReportedAboveOneAndAHalfTimesCurrentUse() {
        func snapshot(peak: Double) -> DoctorSnapshot {
            healthy.with {
                $0.memoryStats?["total.allocated"] = 20_000_000
                $0.memoryStats?["peak.allocated"] = peak
            }
        }
        #expect(snapshot(peak: 30_000_000).severity(of: "memory.peak") == .ok)
        #expect(snapshot(peak: 30_000_001).severity(of: "memory.peak") == .info)
    }

    @Test func recordedFragmentationFiresWithMemoryDoctorsOwnText() throws {
        let fragmented = DoctorFixture.fragmented.snapshot
        #expect(fragmented.severity(of: "memory.fragmentation.total") == .warn)
        #expect(fragmented.severity(of: "memory.fragmentation.allocator") == .warn)
        #expect(fragmented.severity(of: "memory.peak") == .info)
        #expect(fragmented.severity(of: "memory.activedefrag") == .warn)
        let doctor = try #require(fragmented.finding("memory.doctor"))
        #expect(doctor.severity == .info)
        #expect(doctor.detail?.contains("High allocator fragmentation") == true)
        #expect(fragmented.with { $0.config?["activedefrag"] = "yes" }.severity(of: "memory.activedefrag") == .ok)
        #expect(healthy.severity(of: "memory.doctor") == .ok)
    }

    @Test func swappingIsCriticalWhenUsedMemoryReachesOneAndAHalfTimesRSS() {
        func snapshot(used: Int, rss: Int) -> DoctorSnapshot {
            healthy.with {
                $0.info["used_memory"] = String(used)
                $0.info["used_memory_rss"] = String(rss)
            }
        }
        #expect(snapshot(used: 60_000_000, rss: 40_000_000).severity(of: "memory.swap") == .crit)
        #expect(snapshot(used: 59_999_999, rss: 40_000_000).severity(of: "memory.swap") == .ok)
        // A ratio of 1.5 over a few bytes is noise, not swapping.
        #expect(snapshot(used: 3_000_000, rss: 2_000_000).severity(of: "memory.swap") == .ok)
    }

    @Test func noevictionIsCriticalOnACacheOnly() {
        let noeviction = healthy.with { $0.config?["maxmemory-policy"] = "noeviction" }
        #expect(noeviction.severity(of: "eviction.policy") == .crit)
        #expect(noeviction.severity(of: "eviction.policy", policy: DoctorPolicy(use: .store)) == .ok)
        #expect(healthy.severity(of: "eviction.policy", policy: DoctorPolicy(use: .store)) == .warn)
        #expect(healthy.severity(of: "eviction.policy") == .ok)
    }

    @Test func tagEpochCountersWarnOnlyUnderAnAllkeysPolicy() {
        func snapshot(policy: String, epochs: Int) -> DoctorSnapshot {
            healthy.with {
                $0.config?["maxmemory-policy"] = policy
                var sample = DoctorKeySample(sampled: 100, withoutTTL: epochs, complete: false)
                sample.tagEpochKeys = epochs
                $0.keySample = sample
            }
        }
        #expect(snapshot(policy: "allkeys-lru", epochs: 3).severity(of: "eviction.tag-epochs") == .warn)
        #expect(snapshot(policy: "volatile-lru", epochs: 3).severity(of: "eviction.tag-epochs") == .ok)
        #expect(snapshot(policy: "allkeys-lru", epochs: 0).severity(of: "eviction.tag-epochs") == nil)
        #expect(DoctorKeySample.isTagEpochKey("{strata:tag:color%7Bred}"))
        #expect(!DoctorKeySample.isTagEpochKey("strata:tag:x"))
    }

    @Test func volatilePolicyWarnsFromHalfTheSampleWithoutTTL() {
        func snapshot(withoutTTL: Int, sampled: Int = 100) -> DoctorSnapshot {
            healthy.with {
                $0.config?["maxmemory-policy"] = "volatile-lru"
                $0.keySample = DoctorKeySample(sampled: sampled, withoutTTL: withoutTTL, complete: false)
            }
        }
        #expect(snapshot(withoutTTL: 49).severity(of: "eviction.volatile-without-ttl") == .ok)
        #expect(snapshot(withoutTTL: 50).severity(of: "eviction.volatile-without-ttl") == .warn)
        #expect(snapshot(withoutTTL: 100).severity(of: "eviction.volatile-without-ttl") == .crit)
        #expect(snapshot(withoutTTL: 9, sampled: 9).severity(of: "eviction.volatile-without-ttl") == nil)
        #expect(healthy.severity(of: "eviction.volatile-without-ttl") == nil)
    }

    @Test func keysWithoutTTLWarnWithoutMaxmemoryFromHalfTheSample() {
        func snapshot(withoutTTL: Int, maxmemory: String = "0") -> DoctorSnapshot {
            healthy.with {
                $0.config?["maxmemory"] = maxmemory
                $0.keySample = DoctorKeySample(sampled: 100, withoutTTL: withoutTTL, complete: true)
            }
        }
        #expect(snapshot(withoutTTL: 49).severity(of: "eviction.keys-without-ttl") == .info)
        #expect(snapshot(withoutTTL: 50).severity(of: "eviction.keys-without-ttl") == .warn)
        #expect(snapshot(withoutTTL: 100, maxmemory: "1000000").severity(of: "eviction.keys-without-ttl") == .info)
    }

    @Test func staleExpiredKeysWarnAboveTenPercent() {
        #expect(healthy.with { $0.info["expired_stale_perc"] = "10.00" }.severity(of: "eviction.expired-stale") == .ok)
        #expect(healthy.with { $0.info["expired_stale_perc"] = "10.01" }.severity(of: "eviction.expired-stale") == .warn)
    }

    @Test func evictionsAreReportedAsInformation() {
        #expect(healthy.severity(of: "eviction.evicted") == .ok)
        #expect(healthy.with { $0.info["evicted_keys"] = "1" }.severity(of: "eviction.evicted") == .info)
    }
}
