import NIOCore
import Redis
import Synchronization

/// A minimal local map kept coherent by client tracking, using the placeholder protocol: a miss
/// inserts a placeholder before reading, invalidations remove placeholders and values alike, and
/// a reply is stored only if its placeholder survived. (The cache's real in-process tier comes
/// later; this is just enough to show what server-assisted caching is worth.)
final class TrackedLocalMap: Sendable {
    private enum Slot {
        case placeholder(UInt64)
        case value(ByteBuffer)
    }

    private let slots = Mutex<[String: Slot]>([:])
    private let nextToken = Atomic<UInt64>(0)

    func apply(_ invalidation: RedisInvalidation) {
        slots.withLock { slots in
            switch invalidation {
            case .keys(let keys): for key in keys { slots[key] = nil }
            case .all: slots.removeAll()
            }
        }
    }

    func get(_ key: String, through reader: RedisTrackedReader) async throws -> ByteBuffer? {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).newValue
        let cached: ByteBuffer? = slots.withLock { slots in
            switch slots[key] {
            case .value(let value): return value
            case .placeholder: return nil
            case nil:
                slots[key] = .placeholder(token)
                return nil
            }
        }
        if let cached { return cached }
        let value = try await reader.get(key)
        slots.withLock { slots in
            guard case .placeholder(token) = slots[key] else { return }
            slots[key] = value.map { .value($0) }
        }
        return value
    }
}

extension ClientBenchmark {
    /// One task reading the same key repeatedly from a tracked local map: after the first miss,
    /// every read is local until the key changes.
    func measureTrackedLocalRead(_ client: RedisClient, requests: Int) async throws -> Row {
        let local = TrackedLocalMap()
        return try await client.withTracking(onInvalidation: { local.apply($0) }) { reader in
            let key = "key:000000000000"
            _ = try await local.get(key, through: reader)
            var samples: [UInt64] = []
            samples.reserveCapacity(requests)
            let cpuBefore = CPUTime.ofThisProcess()
            let started = ContinuousClock.now
            for _ in 0..<requests {
                let begin = ContinuousClock.now
                _ = try await local.get(key, through: reader)
                samples.append((ContinuousClock.now - begin).nanoseconds)
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let cpu = CPUTime.ofThisProcess() - cpuBefore
            // The map must still be coherent: a write elsewhere reaches it.
            try await client.set(key, to: "yyy")
            var seen = try await local.get(key, through: reader)
            for _ in 0..<200 where seen.map({ String(buffer: $0) }) != "yyy" {
                try await Task.sleep(for: .milliseconds(5))
                seen = try await local.get(key, through: reader)
            }
            guard seen.map({ String(buffer: $0) }) == "yyy" else {
                throw BenchmarkError(message: "tracked local map kept a stale value")
            }
            try await client.set(key, to: "xxx")
            samples.sort()
            return Row(
                scenario: "c1 tracked-local", command: "GET", tool: "strata", operations: requests,
                opsPerSecond: Double(requests) / elapsed, p50Microseconds: percentile(samples, 0.50),
                p99Microseconds: percentile(samples, 0.99), cpuMicrosecondsPerOp: cpu * 1e6 / Double(requests)
            )
        }
    }
}
