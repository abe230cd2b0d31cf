public import Redis
import Foundation
import Synchronization

/// Replays a ``ReadSample`` as `GET`s against a (staging) Redis and measures what a cache there
/// would have answered: the engine of `strata warm replay`.
///
/// ``WarmReplayOptions/concurrency`` workers share the executor (a connection pipelines their
/// commands) and take reads in sample order; a ``Pacer`` keeps the average rate under
/// ``WarmReplayOptions/rate``. A failed `GET` is counted as an error and the replay goes on;
/// only cancellation stops it early (the report then covers the reads answered so far).
///
/// - Complexity: O(n log n) in the sample size for the latency percentiles; one latency sample
///   (8 bytes) is kept per read.
public struct WarmReplayer<Executor: RedisCommandExecutor>: Sendable {
    private let executor: Executor
    private let sample: ReadSample
    private let options: WarmReplayOptions
    private let progress: @Sendable (WarmReplayProgress) -> Void

    /// Creates a replayer.
    ///
    /// - Parameter progress: called every 1% of the sample (at least every 100 reads) from a worker.
    public init(
        executor: Executor, sample: ReadSample, options: WarmReplayOptions = WarmReplayOptions(),
        progress: @escaping @Sendable (WarmReplayProgress) -> Void = { _ in }
    ) {
        self.executor = executor
        self.sample = sample
        self.options = options
        self.progress = progress
    }

    private struct Tally: Sendable {
        var hits = 0
        var misses = 0
        var errors = 0
        var latencies: [Duration] = []
        var missing: Set<String> = []
        var namespaces: [String: WarmReplayReport.NamespaceCounts] = [:]

        mutating func merge(_ other: Tally) {
            hits += other.hits
            misses += other.misses
            errors += other.errors
            latencies += other.latencies
            missing.formUnion(other.missing)
            namespaces.merge(other.namespaces) { .init(reads: $0.reads + $1.reads, hits: $0.hits + $1.hits) }
        }
    }

    /// Replays every read of the sample once.
    public func run() async -> WarmReplayReport {
        let clock = ContinuousClock()
        let start = clock.now
        let counters = ReplayCounters()
        let pacer = Pacer(operationsPerSecond: options.rate)
        let reads = sample.reads
        let every = max(100, reads.count / 100)
        let tally = await withTaskGroup(of: Tally.self) { group in
            for _ in 0..<min(options.concurrency, max(1, reads.count)) {
                group.addTask {
                    var tally = Tally()
                    while !Task.isCancelled {
                        let index = counters.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < reads.count else { break }
                        let pause = pacer.delay(afterCompleting: index, elapsed: clock.now - start)
                        if pause > .zero { do { try await Task.sleep(for: pause) } catch { break } }
                        let found = await replay(reads[index], clock: clock, into: &tally)
                        if found { counters.hits.wrappingAdd(1, ordering: .relaxed) }
                        let done = counters.completed.wrappingAdd(1, ordering: .relaxed).newValue
                        if done % every == 0 || done == reads.count {
                            progress(WarmReplayProgress(completed: done, total: reads.count, hits: counters.hits.load(ordering: .relaxed)))
                        }
                    }
                    return tally
                }
            }
            var total = Tally()
            for await part in group { total.merge(part) }
            return total
        }
        return report(tally, elapsed: clock.now - start)
    }

    /// - Returns: whether the key was found.
    private func replay(_ read: ReadSample.Read, clock: ContinuousClock, into tally: inout Tally) async -> Bool {
        let sent = clock.now
        let found: Bool
        do {
            found = try await executor.send(GET(read.key)) != nil
        } catch {
            tally.errors += 1
            tally.namespaces[read.namespace, default: .init(reads: 0, hits: 0)].reads += 1
            return false
        }
        tally.latencies.append(clock.now - sent)
        tally.namespaces[read.namespace, default: .init(reads: 0, hits: 0)].reads += 1
        if found {
            tally.hits += 1
            tally.namespaces[read.namespace, default: .init(reads: 0, hits: 0)].hits += 1
        } else {
            tally.misses += 1
            tally.missing.insert(read.key)
        }
        return found
    }

    private func report(_ tally: Tally, elapsed: Duration) -> WarmReplayReport {
        let sorted = tally.latencies.sorted()
        func percentile(_ share: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let index = min(sorted.count - 1, Int((share * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[max(0, index)].milliseconds
        }
        let answered = tally.hits + tally.misses
        return WarmReplayReport(
            reads: answered + tally.errors, hits: tally.hits, misses: tally.misses, errors: tally.errors,
            missingKeys: tally.missing.count, hitRatio: answered > 0 ? Double(tally.hits) / Double(answered) : nil,
            latencyP50Milliseconds: percentile(0.5), latencyP99Milliseconds: percentile(0.99),
            elapsedSeconds: elapsed.milliseconds / 1000, malformedLines: sample.malformedLines, namespaces: tally.namespaces
        )
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// The counters the replay's workers share.
private final class ReplayCounters: Sendable {
    /// The index of the next read to take.
    let next = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let hits = Atomic<Int>(0)
}

/// Reads a sample file and replays it against one server: the entry point of `strata warm replay`.
public enum WarmReplay {
    /// Replays the reads recorded in `sampleFile` against `target` over one connection, closed
    /// afterwards.
    ///
    /// - Throws: ``WarmCopyError`` `sampleUnreadable` when the file cannot be read, `redis` when
    ///   the server cannot be reached.
    public static func run(
        sampleFile: String, target: RedisConnectionConfiguration, options: WarmReplayOptions,
        progress: @escaping @Sendable (WarmReplayProgress) -> Void = { _ in }
    ) async throws(WarmCopyError) -> WarmReplayReport {
        let text: String
        do {
            text = try String(contentsOfFile: sampleFile, encoding: .utf8)
        } catch {
            throw WarmCopyError(.sampleUnreadable, message: "could not read the sample file")
        }
        let sample = ReadSample(text: text)
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(configuration: target)
        } catch {
            throw WarmCopyError(.redis, message: "could not connect to the target", underlying: error)
        }
        return await connection.closing { connection in
            await WarmReplayer(executor: connection, sample: sample, options: options, progress: progress).run()
        }
    }
}
