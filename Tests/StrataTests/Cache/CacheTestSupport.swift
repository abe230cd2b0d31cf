import Synchronization
import Testing

@testable import Strata

/// A distributed tier held in memory, with switches for the faults a real one has.
final class FakeDistributedTier: DistributedCacheTier {
    struct State {
        var values: [String: (bytes: [UInt8], timeToLive: Duration)] = [:]
        var failing = false
        var gets = 0
        var sets = 0
    }
    let state = Mutex(State())

    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }
    var getCount: Int { state.withLock { $0.gets } }
    var setCount: Int { state.withLock { $0.sets } }
    func timeToLive(of key: String) -> Duration? { state.withLock { $0.values[key]?.timeToLive } }
    func bytes(of key: String) -> [UInt8]? { state.withLock { $0.values[key]?.bytes } }
    func store(_ bytes: [UInt8], for key: String) { state.withLock { $0.values[key] = (bytes, .seconds(60)) } }

    struct Down: Error {}

    func get(_ key: String) async throws -> [UInt8]? {
        try state.withLock { state in
            state.gets += 1
            if state.failing { throw Down() }
            return state.values[key]?.bytes
        }
    }

    func get(_ keys: [String]) async throws -> [[UInt8]?] {
        try state.withLock { state in
            state.gets += 1
            if state.failing { throw Down() }
            return keys.map { state.values[$0]?.bytes }
        }
    }

    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws {
        try state.withLock { state in
            state.sets += 1
            if state.failing { throw Down() }
            state.values[key] = (value, timeToLive)
        }
    }

    func remove(_ keys: [String]) async throws {
        try state.withLock { state in
            if state.failing { throw Down() }
            for key in keys { state.values[key] = nil }
        }
    }
}

/// Counts loader calls and lets a test hold a load open until it says so.
final class LoaderProbe: Sendable {
    private let calls = Atomic<Int>(0)
    private let gate = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let gated = Atomic<Bool>(false)

    var callCount: Int { calls.load(ordering: .relaxed) }

    /// While closed, loads wait inside the loader until ``open()``.
    func close() { gated.store(true, ordering: .relaxed) }

    func open() {
        gated.store(false, ordering: .relaxed)
        let waiting = gate.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state = [] }
            return state
        }
        for continuation in waiting { continuation.resume() }
    }

    var waitingCount: Int { gate.withLock { $0.count } }

    func load<Value: Sendable>(_ value: Value) async throws -> Value {
        calls.wrappingAdd(1, ordering: .relaxed)
        if gated.load(ordering: .relaxed) {
            await withCheckedContinuation { continuation in
                let resumeNow = gate.withLock { state -> Bool in
                    guard gated.load(ordering: .relaxed) else { return true }
                    state.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
        return value
    }
}

struct LoaderFailure: Error {}

func makeNamespace(_ options: CacheEntryOptions = CacheEntryOptions()) throws -> CacheNamespace<String> {
    try CacheNamespace<String>("item", codec: StringCacheCodec(), defaultOptions: options)
}

/// Runs `body` while `cache.run()` hosts the cache's background work, then stops it.
func withRunningCache<Result: Sendable>(
    _ cache: StrataCache, _ body: @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await cache.run() }
        defer { group.cancelAll() }
        while !cache.background.isRunning { await Task.yield() }
        return try await body()
    }
}

/// Waits until `condition` holds; gives up after 20 s so a bug fails instead of hanging.
func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
    let deadline = ContinuousClock.now.advanced(by: .seconds(20))
    var spins = 0
    while ContinuousClock.now < deadline {
        if condition() { return }
        spins += 1
        if spins % 100 == 0 { try? await Task.sleep(for: .milliseconds(1)) } else { await Task.yield() }
    }
    Issue.record("condition never became true", sourceLocation: sourceLocation)
}

/// A counter that closures can share.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    var value: Int { storage.load(ordering: .relaxed) }
    func increment() { storage.wrappingAdd(1, ordering: .relaxed) }
}

/// Get-or-load through `probe`. Keeps loader closures out of `#expect`, whose expansion can
/// rewrite literals inside trailing closures.
func fetch(_ cache: StrataCache, _ key: CacheKey<String>, loading value: String, probe: LoaderProbe) async throws -> String {
    try await cache.value(for: key) { try await probe.load(value) }
}
