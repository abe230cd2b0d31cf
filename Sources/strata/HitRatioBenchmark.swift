import ArgumentParser
import Foundation
import Strata

/// `strata bench hit-ratio`: the in-process tier's policy against LRU and Belady's optimum on a trace.
struct BenchHitRatioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hit-ratio",
        abstract: "Replay a key trace through MemoryCache, LRU and the optimal policy; print hit ratios."
    )

    @Option(help: "A trace of big-endian Int32 keys, raw or xz-compressed (.xz, read with `xz -dc`).")
    var trace: String

    @Option(help: "Cache sizes in entries, comma-separated (e.g. 500,1000).")
    var sizes: String

    @Flag(help: "Print JSON (ratios as fractions) instead of a table.")
    var json = false

    func run() throws {
        let parsed = sizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--sizes must be positive integers separated by commas")
        }
        let keys = try HitRatioBenchmark.loadTrace(path: trace)
        let report = try HitRatioBenchmark(traceName: trace, keys: keys, sizes: parsed.compactMap { $0 }).run()
        print(json ? report.json() : report.table())
    }
}

/// Computes the hit ratios behind `strata bench hit-ratio` (the replay itself is
/// `Strata.HitRatioReplay`, so tests and the tool measure the same thing).
struct HitRatioBenchmark {
    let traceName: String
    let keys: [Int32]
    let sizes: [Int]

    struct Result: Codable, Equatable {
        var size: Int
        var hitRatio: Double
        var lruHitRatio: Double
        var optimalHitRatio: Double

        enum CodingKeys: String, CodingKey {
            case size
            case hitRatio = "hit_ratio"
            case lruHitRatio = "lru_hit_ratio"
            case optimalHitRatio = "optimal_hit_ratio"
        }
    }

    struct Report: Codable, Equatable {
        var trace: String
        var accesses: Int
        var results: [Result]

        func json() -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }

        func table() -> String {
            var lines = ["trace \(trace): \(accesses) accesses", ""]
            lines.append("    size   Strata      LRU  optimal  Strata-LRU  optimal-Strata")
            for result in results {
                lines.append(
                    String(
                        format: "%8d  %6.2f%%  %6.2f%%  %6.2f%%  %+7.2f pts  %10.2f pts",
                        result.size, result.hitRatio * 100, result.lruHitRatio * 100, result.optimalHitRatio * 100,
                        (result.hitRatio - result.lruHitRatio) * 100, (result.optimalHitRatio - result.hitRatio) * 100)
                )
            }
            return lines.joined(separator: "\n")
        }
    }

    func run() throws -> Report {
        var results: [Result] = []
        for size in sizes {
            results.append(
                Result(
                    size: size,
                    hitRatio: Self.rounded(try HitRatioReplay.memoryCache(keys, size: size)),
                    lruHitRatio: Self.rounded(HitRatioReplay.lru(keys, size: size)),
                    optimalHitRatio: Self.rounded(HitRatioReplay.optimal(keys, size: size))
                ))
        }
        return Report(trace: traceName, accesses: keys.count, results: results)
    }

    /// Six decimals: differences of 0.01 points between policies stay visible.
    private static func rounded(_ ratio: Double) -> Double { (ratio * 1e6).rounded() / 1e6 }

    /// Reads a trace file; xz-compressed files (by extension or magic bytes) go through `xz -dc`.
    static func loadTrace(path: String) throws -> [Int32] {
        let url = URL(fileURLWithPath: path)
        let head = try FileHandle(forReadingFrom: url).read(upToCount: 6) ?? Data()
        let isXZ = path.hasSuffix(".xz") || head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])
        let bytes = isXZ ? try decompressXZ(url) : try Data(contentsOf: url)
        return HitRatioReplay.decodeTrace([UInt8](bytes))
    }

    private static func decompressXZ(_ url: URL) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["xz", "-dc", url.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Read before waiting: the pipe's buffer is far smaller than a trace.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError(message: "xz -dc failed (exit \(process.terminationStatus)); is xz-utils installed?")
        }
        return data
    }
}
