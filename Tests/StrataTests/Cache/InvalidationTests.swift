import Synchronization
import Testing

@testable import Strata

/// An in-process bus joining several caches, with a switch that drops messages.
final class FakeBus: Sendable {
    private struct State {
        var subscribers: [UInt64: @Sendable (InvalidationEvent) -> Void] = [:]
        var dropping = false
    }
    private let state = Mutex(State())

    func endpoint() -> Endpoint { Endpoint(bus: self, id: UInt64.random(in: 1...UInt64.max)) }

    var dropping: Bool {
        get { state.withLock { $0.dropping } }
        set { state.withLock { $0.dropping = newValue } }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    struct Endpoint: InvalidationBus {
        let bus: FakeBus
        let id: UInt64

        func publish(_ scope: InvalidationMessage.Scope) async throws {
            let (targets, dropping) = bus.state.withLock { state in
                (state.subscribers.filter { $0.key != id }.map(\.value), state.dropping)
            }
            guard !dropping else { return }
            for deliver in targets {
                switch scope {
                case .keys(let keys): deliver(.invalidate(keys))
                case .everything: deliver(.flush(.requested))
                case .tagEpoch(let tag, let epoch): deliver(.tagEpoch(tag: tag, epoch: epoch))
                }
            }
        }

        func run(deliver: @escaping @Sendable (InvalidationEvent) -> Void) async throws {
            // Flush before registering: once `subscriberCount` counts this endpoint, its subscribe
            // flush is behind it and cannot race what a test caches next.
            deliver(.flush(.subscribed))
            bus.state.withLock { $0.subscribers[id] = deliver }
            defer { bus.state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
    }
}

@Suite struct InvalidationTests {
    @Test func sequenceTrackerAppliesInOrderFlagsGapsAndIgnoresRepeats() {
        var tracker = InvalidationSequenceTracker()
        #expect(tracker.received(publisher: 1, sequence: 7) == .apply)
        #expect(tracker.received(publisher: 1, sequence: 8) == .apply)
        #expect(tracker.received(publisher: 1, sequence: 8) == .stale)
        #expect(tracker.received(publisher: 1, sequence: 11) == .gap(missed: 2))
        #expect(tracker.received(publisher: 2, sequence: 1) == .apply)
        tracker.reset()
        #expect(tracker.received(publisher: 1, sequence: 3) == .apply)
    }

    @Test func sequenceTrackerMemoryIsBounded() {
        var tracker = InvalidationSequenceTracker(maximumPublishers: 2)
        _ = tracker.received(publisher: 1, sequence: 1)
        _ = tracker.received(publisher: 2, sequence: 1)
        _ = tracker.received(publisher: 3, sequence: 1)
        // Publisher 1 was forgotten: its next message is accepted like a first one.
        #expect(tracker.received(publisher: 1, sequence: 9) == .apply)
    }

    @Test func wireFormatRoundTripsAndRejectsMalformedBytes() throws {
        let message = InvalidationMessage(publisher: 0xDEAD_BEEF, sequence: 42, scope: .keys(["{a:v1:1}", "{b:v1:ü}"]))
        #expect(InvalidationMessage(decoding: message.encoded()) == message)
        let everything = InvalidationMessage(publisher: 1, sequence: 2, scope: .everything)
        #expect(InvalidationMessage(decoding: everything.encoded()) == everything)
        let bytes = message.encoded()
        for cut in 0..<bytes.count { #expect(InvalidationMessage(decoding: Array(bytes.prefix(cut))) == nil) }
        #expect(InvalidationMessage(decoding: bytes + [0]) == nil)
        var oversized = Array(bytes.prefix(20))
        oversized += [0xFF, 0xFF]
        #expect(InvalidationMessage(decoding: oversized) == nil)
    }

    @Test func aWriteOnOneInstanceEvictsTheOtherInstancesCopy() async throws {
        let key = try makeNamespace().key("shared")
        try await withTwoInstances(sharing: FakeDistributedTier()) { first, second in
            _ = try await second.value(for: key) { "v1" }
            #expect(second.memory?.value(forKey: key.storageKey) != nil)
            #expect(try await first.set("v2", for: key))
            #expect(second.memory?.value(forKey: key.storageKey) == nil)
            let reread = try await second.value(for: key) { "from loader" }
            #expect(reread == "v2")
            #expect(await first.remove(key))
            #expect(second.memory?.value(forKey: key.storageKey) == nil)
            #expect(second.statistics().invalidationsReceived == 2)
        }
    }

    enum OvertakenFetch: CaseIterable { case load, cachedValue }

    /// The checker found this race: a load (or distributed read) that began before another
    /// instance's write, and finished after its invalidation arrived, must not leave its older
    /// value in the in-process tier. Its caller still gets that value: its read began first.
    /// `cachedValue` copies a distributed hit into the in-process tier under the same rule.
    @Test(arguments: OvertakenFetch.allCases) func aFetchThatAnInvalidationOvertookIsNotKeptInProcess(_ how: OvertakenFetch) async throws {
        let tier = GatedTier()
        let key = try makeNamespace().key("raced")
        let probe = LoaderProbe()
        try await withTwoInstances(sharing: tier) { writer, reader in
            switch how {
            case .load: probe.close()
            case .cachedValue:
                _ = try await writer.value(for: key) { "v1" }
                tier.hold(.reads)
            }
            async let slowRead = how == .load ? fetch(reader, key, loading: "v1", probe: probe) : reader.cachedValue(for: key)
            await eventually { probe.waitingCount + tier.heldCount == 1 }
            #expect(try await writer.set("v2", for: key))
            probe.open()
            tier.release()
            let slowValue = try await slowRead
            #expect(slowValue == "v1")
            #expect(reader.memory?.value(forKey: key.storageKey) == nil)
        }
    }

    enum OwnWrite: CaseIterable { case invalidate, set, writeThrough }

    /// The checker found this race on the writer's own instance: a read that fetched the old
    /// value from the distributed tier before the write reached it must not leave that value in
    /// the in-process tier once the write returns (read-your-writes; the instance's own bus
    /// messages never come back to evict it).
    @Test(arguments: OwnWrite.allCases) func aReadRacingTheWritersOwnWriteLeavesNoOlderCopyInProcess(_ write: OwnWrite) async throws {
        let tier = GatedTier()
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()), distributedTier: tier)
        let key = try makeNamespace().key("written")
        _ = try await cache.value(for: key) { "v1" }
        cache.removeAllFromMemory()
        let read: @Sendable () async throws -> String = { try await cache.value(for: key) { "v2" } }
        let during: String
        switch write {
        case .invalidate:
            // The read starts while the removal is on its way to the distributed tier.
            let (removed, value) = try await tier.race(holding: .removals, { await cache.invalidate(key, version: nil) }, then: read)
            #expect(removed)
            during = value
        case .set:
            // The write lands while the read's reply is on its way back.
            during = try await tier.race(holding: .reads, read, then: { try await cache.set("v2", for: key) }).0
        case .writeThrough:
            during = try await tier.race(holding: .reads, read, then: { try await cache.write("v2", for: key, version: 2) }).0
        }
        // The write was not acknowledged before the read began: the old value is a correct answer.
        #expect(during == "v1")
        let after = try await read()
        #expect(after == "v2")
    }

    @Test func subscribingFlushesTheInProcessTier() async throws {
        let bus = FakeBus()
        let cache = try StrataCache(configuration: .init(clock: ManualCacheClock()), invalidationBus: bus.endpoint())
        let key = try makeNamespace().key("early")
        _ = try await cache.value(for: key) { "cached before the bus ran" }
        try await withRunningCache(cache) {
            await eventually { cache.statistics().memoryFlushes == 1 }
            #expect(cache.memory?.value(forKey: key.storageKey) == nil)
        }
    }
}

/// Two running instances over one distributed tier, joined by a ``FakeBus``; `body` runs once
/// both have subscribed.
func withTwoInstances(
    sharing tier: any DistributedCacheTier, _ body: @Sendable (StrataCache, StrataCache) async throws -> Void
) async throws {
    let bus = FakeBus()
    let clock = ManualCacheClock()
    let first = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
    let second = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
    try await withRunningCache(first) {
        try await withRunningCache(second) {
            await eventually { bus.subscriberCount == 2 }
            try await body(first, second)
        }
    }
}

/// A distributed tier whose read replies or removals can be held (a slow reply, a slow
/// invalidation) while everything else goes through.
final class GatedTier: DistributedCacheTier {
    enum Operation: Sendable { case reads, removals }

    private struct Gate {
        var closed: Operation?
        var held: [CheckedContinuation<Void, Never>] = []
    }
    private let base = FakeDistributedTier()
    private let gate = Mutex(Gate())

    var heldCount: Int { gate.withLock { $0.held.count } }

    /// Holds every later call of `operation` until ``release()``.
    func hold(_ operation: Operation) { gate.withLock { $0.closed = operation } }

    func release() {
        let held = gate.withLock { gate in
            defer { gate = Gate() }
            return gate.held
        }
        for call in held { call.resume() }
    }

    /// Runs `first` until this tier holds it at `operation`, then `second` to completion, then
    /// lets `first` finish.
    func race<First: Sendable, Second>(
        holding operation: Operation, _ first: @escaping @Sendable () async throws -> First, then second: () async throws -> Second
    ) async throws -> (First, Second) {
        hold(operation)
        async let held = first()
        await eventually { heldCount == 1 }
        let secondResult: Second
        do {
            secondResult = try await second()
        } catch {
            release()
            throw error
        }
        release()
        return (try await held, secondResult)
    }

    private func pass(_ operation: Operation) async {
        await withCheckedContinuation { continuation in
            let proceed = gate.withLock { gate in
                guard gate.closed == operation else { return true }
                gate.held.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    /// A held read has read the store already: its reply is what is late.
    func get(_ key: String) async throws -> [UInt8]? {
        let bytes = try await base.get(key)
        await pass(.reads)
        return bytes
    }

    func get(_ keys: [String]) async throws -> [[UInt8]?] {
        let values = try await base.get(keys)
        await pass(.reads)
        return values
    }

    func set(_ key: String, value: [UInt8], timeToLive: Duration) async throws {
        try await base.set(key, value: value, timeToLive: timeToLive)
    }

    func remove(_ keys: [String]) async throws {
        await pass(.removals)
        try await base.remove(keys)
    }
}
