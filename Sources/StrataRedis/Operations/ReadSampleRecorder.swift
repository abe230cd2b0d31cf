public import ServiceLifecycle
import Foundation
import Synchronization

/// Records a sample of the keys a ``RedisCacheTier`` reads into a file, one `namespace key` line
/// per sampled read, for `strata warm replay` to replay against a staging cache.
///
/// Opt-in: create it, attach it with ``RedisCacheTier/recordingReads(into:)``, and run it as a
/// swift-service-lifecycle `Service` (its `run()` writes the buffered lines every
/// ``Configuration/flushInterval`` and once more at shutdown).
///
/// Sampling is deterministic, every ``Configuration/oneIn``-th read, so the cost on the hot path
/// is one atomic increment for the reads not sampled and a short lock for the others. Recording
/// stops for good once ``Configuration/maximumBytes`` were accepted. Keys holding whitespace
/// (never produced by ``CacheNamespace``) are skipped, so every line parses back. A failed write is
/// reported by ``flush()`` and drops that batch; reads are never slowed by the file.
public final class ReadSampleRecorder: Service, Sendable {
    /// Settings of the recorder.
    public struct Configuration: Sendable, Hashable {
        /// The file to write; created or truncated when the recorder is created.
        public var path: String
        /// Records one read in this many (default 100; 1 records all).
        public var oneIn: Int
        /// The most bytes the file may hold (default 64 MiB).
        public var maximumBytes: Int
        /// How often buffered lines are written (default 1 s).
        public var flushInterval: Duration

        /// Creates a configuration.
        public init(path: String, oneIn: Int = 100, maximumBytes: Int = 64 << 20, flushInterval: Duration = .seconds(1)) {
            self.path = path
            self.oneIn = max(1, oneIn)
            self.maximumBytes = maximumBytes
            self.flushInterval = flushInterval
        }
    }

    private struct Buffer {
        var pending: [UInt8] = []
        var acceptedBytes = 0
        var acceptedLines = 0
        var full = false
    }

    /// The settings this recorder was created with.
    public let configuration: Configuration
    private let reads = Atomic<Int>(0)
    private let buffer = Mutex(Buffer())
    private let file: Mutex<FileHandle>

    /// Creates the recorder and an empty file at `configuration.path`.
    ///
    /// - Throws: the file system's error when the file cannot be created or opened for writing.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        // Truncates an existing file; when this fails, opening it below reports why.
        _ = FileManager.default.createFile(atPath: configuration.path, contents: nil)
        file = Mutex(try FileHandle(forWritingTo: URL(fileURLWithPath: configuration.path)))
    }

    /// Lines accepted so far (written or waiting for the next flush).
    public var recordedLines: Int { buffer.withLock { $0.acceptedLines } }

    /// Offers one read of `storageKey`; records it when it is the sampled one.
    ///
    /// - Complexity: O(1) when not sampled; O(key length) when sampled.
    public func offer(_ storageKey: String) {
        let count = reads.wrappingAdd(1, ordering: .relaxed).newValue
        guard count % configuration.oneIn == 0 else { return }
        guard let line = Self.line(for: storageKey) else { return }
        buffer.withLock { buffer in
            guard !buffer.full else { return }
            guard buffer.acceptedBytes + line.count <= configuration.maximumBytes else {
                buffer.full = true
                return
            }
            buffer.pending.append(contentsOf: line)
            buffer.acceptedBytes += line.count
            buffer.acceptedLines += 1
        }
    }

    /// Writes the buffered lines to the file.
    ///
    /// - Throws: when the write fails; those lines are lost.
    public func flush() throws {
        let pending = buffer.withLock { buffer in
            defer { buffer.pending = [] }
            return buffer.pending
        }
        guard !pending.isEmpty else { return }
        try file.withLock { try $0.write(contentsOf: pending) }
    }

    /// Flushes every ``Configuration/flushInterval`` until cancelled or gracefully shut down, then
    /// flushes once more and closes the file.
    public func run() async throws {
        await runPeriodically(every: configuration.flushInterval) { try? self.flush() }
        try flush()
        try file.withLock { try $0.close() }
    }

    /// `namespace key\n` for a Strata storage key (`{namespace:v1:parts}`); `nil` for a key that
    /// would not read back as one line.
    static func line(for storageKey: String) -> [UInt8]? {
        guard !storageKey.isEmpty, !storageKey.utf8.contains(where: { $0 <= 0x20 }) else { return nil }
        let body = storageKey.utf8.first == UInt8(ascii: "{") ? storageKey.dropFirst() : Substring(storageKey)
        let namespace = body.prefix { $0 != ":" }
        return Array("\(namespace.isEmpty ? "-" : namespace) \(storageKey)\n".utf8)
    }
}
