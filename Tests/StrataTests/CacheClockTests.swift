import Strata
import Testing

@Suite struct CacheClockTests {
    @Test func manualClockWakesSleepersOnlyWhenAdvancedPastTheirDeadline() async throws {
        let clock = ManualCacheClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(for: .seconds(5)) }
            while clock.sleeperCount == 0 { await Task.yield() }
            clock.advance(by: .seconds(4))
            #expect(clock.sleeperCount == 1)
            clock.advance(by: .seconds(1))
            try await group.waitForAll()
        }
        #expect(clock.sleeperCount == 0)
    }

    @Test func cancellingASleeperThrowsCancellationError() async {
        let clock = ManualCacheClock()
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func instantArithmeticSaturatesInsteadOfOverflowing() {
        #expect(CacheInstant.distantFuture.advanced(by: .seconds(1)) == .distantFuture)
        #expect(CacheInstant(millisecondsSinceEpoch: 1000).advanced(by: .milliseconds(1500)).millisecondsSinceEpoch == 2500)
        #expect(Duration.milliseconds(1500).cacheMilliseconds == 1500)
    }
}
