import Foundation
import Strata
import Testing

/// The shipped policy on a real trace (cache2k's web07, CC BY 4.0; see Resources/README.md).
@Suite struct HitRatioTraceTests {
    /// The decompressed trace, read once for all tests of the suite.
    static let web07: [Int32] = {
        guard let url = Bundle.module.url(forResource: "web07.trace", withExtension: "xz") else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["xz", "-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return [] }
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return HitRatioReplay.decodeTrace([UInt8](bytes))
    }()

    @Test func theTraceDecodesToItsPublishedLength() {
        #expect(Self.web07.count == 76_118)
        #expect(Set(Self.web07).count == 20_484)
    }

    /// Caffeine 2.6.2 (W-TinyLFU with a fixed 1% window) reference ratios from the traces' README.
    @Test(arguments: [(500, 0.4752), (1_000, 0.5218)])
    func memoryCacheBeatsLRUAndCaffeineOnWeb07(size: Int, caffeine: Double) throws {
        try #require(Self.web07.count == 76_118)
        let strata = try HitRatioReplay.memoryCache(Self.web07, size: size)
        let lru = HitRatioReplay.lru(Self.web07, size: size)
        #expect(strata >= lru)
        #expect(strata >= caffeine)
    }

    @Test func lruAndOptimalMatchThePublishedReferences() {
        // The same replay rule as the README's table: LRU 45.58%, optimal 59.16% at 500 entries.
        #expect(abs(HitRatioReplay.lru(Self.web07, size: 500) - 0.4558) < 0.00005)
        #expect(abs(HitRatioReplay.optimal(Self.web07, size: 500) - 0.5916) < 0.00005)
    }
}
