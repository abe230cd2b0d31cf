extension CacheStatistics {
    /// The snapshot as flat text fields, the shape instances publish to a Redis hash
    /// (`strata:stats:<instance>`) and `strata stats --instances` reads back.
    ///
    /// Field names are stable: a newer reader shows zero for a field an older publisher did not write.
    public var fields: [String: String] {
        var fields = Self.counterPaths.mapValues { String(self[keyPath: $0]) }
        fields["breaker_state"] = breakerState
        return fields
    }

    /// Reads a snapshot back from ``fields``; missing or malformed numbers read as zero.
    public init(fields: [String: String]) {
        self.init(
            memoryHits: 0, memoryMisses: 0, distributedHits: 0, distributedMisses: 0, loads: 0, loadFailures: 0,
            staleServed: 0, refreshes: 0, singleFlightJoins: 0, distributedFailures: 0, decodeFailures: 0
        )
        for (name, path) in Self.counterPaths {
            self[keyPath: path] = fields[name].flatMap { Int($0) } ?? 0
        }
        breakerState = fields["breaker_state"] ?? "none"
    }

    private static let counterPaths: [String: any WritableKeyPath<CacheStatistics, Int> & Sendable] = [
        "memory_hits": \.memoryHits, "memory_misses": \.memoryMisses,
        "distributed_hits": \.distributedHits, "distributed_misses": \.distributedMisses,
        "loads": \.loads, "load_failures": \.loadFailures, "stale_served": \.staleServed,
        "refreshes": \.refreshes, "single_flight_joins": \.singleFlightJoins,
        "distributed_failures": \.distributedFailures, "decode_failures": \.decodeFailures,
        "invalidations_received": \.invalidationsReceived, "memory_flushes": \.memoryFlushes,
        "fills_refused": \.fillsRefused, "delayed_deletes": \.delayedDeletes,
        "memory_evictions": \.memoryEvictions, "memory_entries": \.memoryEntries,
    ]

    /// Fresh in-process answers over in-process lookups; `nil` before the first lookup.
    public var memoryHitRatio: Double? {
        let lookups = memoryHits + memoryMisses
        return lookups > 0 ? Double(memoryHits) / Double(lookups) : nil
    }

    /// Fresh distributed answers over distributed lookups; `nil` before the first one.
    public var distributedHitRatio: Double? {
        let lookups = distributedHits + distributedMisses
        return lookups > 0 ? Double(distributedHits) / Double(lookups) : nil
    }
}
