/// Where one write-behind queue lives in Redis: its partition streams, their dead-letter streams
/// and the consumer group the workers share. Producers and workers must agree on it.
///
/// Partition `p` of prefix `orders` is the stream `{orders:p}`; its dead letters go to
/// `{orders:p}:dead`. The hash tag keeps a partition and its dead letters in one Redis Cluster
/// slot, so moving an entry aside is one atomic script.
///
/// A key always lands in the same partition (``partition(forKey:)`` is a fixed FNV-1a hash, the
/// same in every process and release), which is what keeps one key's writes in order. Changing
/// ``partitions`` moves keys between streams: drain the queue (``WriteBehindQueue/backlog()``
/// is zero) before changing it.
public struct WriteBehindStreams: Sendable, Hashable {
    /// The name every stream key starts with (inside the hash tag).
    public let prefix: String
    /// How many partition streams there are.
    public let partitions: Int
    /// The consumer group of the workers.
    public let group: String

    /// Describes a queue.
    ///
    /// - Parameters:
    ///   - prefix: 1–128 bytes without `{`, `}` or whitespace.
    ///   - partitions: 1–1024. More partitions spread keys over more streams (and cluster slots);
    ///     each worker reads all of them with one blocking command.
    ///   - group: the consumer group name, 1–128 bytes without whitespace.
    /// - Throws: ``WriteBehindError`` `.invalidConfiguration` for a bad name or count.
    public init(prefix: String = "strata:wb", partitions: Int = 8, group: String = "strata-writers") throws(WriteBehindError) {
        guard Self.isValidName(prefix), !prefix.utf8.contains(where: { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") })
        else {
            throw WriteBehindError(.invalidConfiguration, "prefix must be 1-128 bytes without braces or whitespace")
        }
        guard (1...1024).contains(partitions) else {
            throw WriteBehindError(.invalidConfiguration, "partitions must be between 1 and 1024")
        }
        guard Self.isValidName(group) else {
            throw WriteBehindError(.invalidConfiguration, "group must be 1-128 bytes without whitespace")
        }
        self.prefix = prefix
        self.partitions = partitions
        self.group = group
    }

    /// The stream of partition `partition`.
    public func stream(partition: Int) -> String { "{\(prefix):\(partition)}" }

    /// The dead-letter stream of partition `partition`.
    public func deadLetterStream(partition: Int) -> String { "{\(prefix):\(partition)}:dead" }

    /// Every partition stream, in partition order.
    public var allStreams: [String] { (0..<partitions).map { stream(partition: $0) } }

    /// The partition of the stream named `stream`, or nil when it is not one of this queue's.
    public func partition(ofStream stream: String) -> Int? {
        let head = "{\(prefix):"
        guard stream.hasPrefix(head), stream.hasSuffix("}") else { return nil }
        guard let partition = Int(stream.dropFirst(head.count).dropLast()), (0..<partitions).contains(partition) else {
            return nil
        }
        return partition
    }

    /// The partition that holds `key`'s writes: FNV-1a (64-bit) of its UTF-8 bytes, modulo
    /// ``partitions``.
    ///
    /// - Complexity: O(length of `key`).
    public func partition(forKey key: String) -> Int {
        Int(Self.fnv1a(key) % UInt64(partitions))
    }

    /// FNV-1a, 64-bit: stable across processes, unlike `Hasher`, which is seeded per process.
    static func fnv1a(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128
            && !name.utf8.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") })
    }
}
