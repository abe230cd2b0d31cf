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
        let bus = FakeBus()
        let tier = FakeDistributedTier()
        let clock = ManualCacheClock()
        let first = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
        let second = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
        let key = try makeNamespace().key("shared")
        try await withRunningCache(first) {
            try await withRunningCache(second) {
                await eventually { bus.subscriberCount == 2 }
                _ = try await second.value(for: key) { "v1" }
                #expect(second.memory?.value(forKey: key.storageKey) != nil)
                #expect(try await first.set("v2", for: key))
                #expect(second.memory?.value(forKey: key.storageKey) == nil)
                let reread = try await second.value(for: key) { "from loader" }
                #expect(reread == "v2")
                #expect(await first.remove(key))
                #expect(second.memory?.value(forKey: key.storageKey) == nil)
            }
        }
        #expect(second.statistics().invalidationsReceived == 2)
    }

    /// The checker found this race: a load (or distributed read) that began before another
    /// instance's write, and finished after its invalidation arrived, must not leave its older
    /// value in the in-process tier. Its caller still gets that value: its read began first.
    @Test func aLoadThatAnInvalidationOvertookIsNotKeptInProcess() async throws {
        let bus = FakeBus()
        let tier = FakeDistributedTier()
        let clock = ManualCacheClock()
        let writer = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
        let reader = try StrataCache(configuration: .init(clock: clock), distributedTier: tier, invalidationBus: bus.endpoint())
        let key = try makeNamespace().key("raced")
        let probe = LoaderProbe()
        probe.close()
        try await withRunningCache(writer) {
            try await withRunningCache(reader) {
                await eventually { bus.subscriberCount == 2 }
                async let slowRead = fetch(reader, key, loading: "v1", probe: probe)
                await eventually { probe.waitingCount == 1 }
                #expect(try await writer.set("v2", for: key))
                probe.open()
                let slowValue = try await slowRead
                #expect(slowValue == "v1")
                #expect(reader.memory?.value(forKey: key.storageKey) == nil)
            }
        }
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
