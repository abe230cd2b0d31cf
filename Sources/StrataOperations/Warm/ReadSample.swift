/// A recorded sample of production reads: the `namespace key` lines a `ReadSampleRecorder`
/// (module StrataRedis) writes, in order.
public struct ReadSample: Sendable, Hashable {
    /// One recorded read.
    public struct Read: Sendable, Hashable {
        /// The cache namespace, for the per-namespace breakdown.
        public var namespace: String
        /// The Redis key that was read.
        public var key: String

        /// Creates a read.
        public init(namespace: String, key: String) {
            self.namespace = namespace
            self.key = key
        }
    }

    /// The reads, in recorded order.
    public var reads: [Read]
    /// Lines that were not `namespace key` (blank lines are not counted).
    public var malformedLines: Int

    /// Parses sample text; a line with a single word is read as a key in namespace `-`.
    ///
    /// - Complexity: O(text length).
    public init(text: String) {
        var reads: [Read] = []
        var malformed = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            switch words.count {
            case 1: reads.append(Read(namespace: "-", key: String(words[0])))
            case 2: reads.append(Read(namespace: String(words[0]), key: String(words[1])))
            default: malformed += 1
            }
        }
        self.reads = reads
        self.malformedLines = malformed
    }
}
