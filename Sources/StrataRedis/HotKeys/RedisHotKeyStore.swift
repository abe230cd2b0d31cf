public import Redis
import RESP
public import Strata
import NIOCore

/// The shared hot list on Redis: one sorted set per namespace whose members are storage keys and
/// whose scores are summed read counts from every instance.
///
/// ``publish(_:)`` adds an instance's counts since its last publish (`ZINCRBY`), trims the set to
/// the ``Configuration/keysPerNamespace`` highest scores (`ZREMRANGEBYRANK`) and renews its
/// lifetime (`PEXPIRE`), so a namespace nobody reads any more disappears on its own. All three go
/// in one pipelined round trip per namespace; the set is one key, so it works on a Cluster too.
///
/// ``hotKeys(namespace:limit:)`` (the ``HotKeySource`` requirement) reads the list back, hottest
/// first, for ``StrataCache/warm(_:from:limit:concurrency:options:progress:load:)``.
///
/// Failures are thrown as ``RedisError``; nothing is retried here (the publisher tries again at
/// its next interval, and a warm that cannot read the list reports it).
public struct RedisHotKeyStore: HotKeySource {
    /// Where and how long the hot lists live.
    public struct Configuration: Sendable, Hashable {
        /// Prefix of the sorted sets' names; the namespace follows in a hash tag.
        public var keyPrefix: String
        /// Members kept per namespace after each publish (default 1,000).
        public var keysPerNamespace: Int
        /// How long a hot list outlives its last publish (default 1 hour).
        public var lifetime: Duration

        /// Creates a configuration.
        public init(keyPrefix: String = "strata:hotkeys:", keysPerNamespace: Int = 1_000, lifetime: Duration = .seconds(3_600)) {
            self.keyPrefix = keyPrefix
            self.keysPerNamespace = keysPerNamespace
            self.lifetime = lifetime
        }
    }

    private let client: any RedisCommandExecutor
    /// The settings of this store.
    public let configuration: Configuration

    /// A store on `client` (a running ``RedisClient`` or ``RedisClusterClient``).
    ///
    /// - Throws: ``CacheError`` `.invalidConfiguration` for a non-positive size or lifetime.
    public init(client: any RedisCommandExecutor, configuration: Configuration = Configuration()) throws(CacheError) {
        guard configuration.keysPerNamespace > 0, configuration.lifetime >= .milliseconds(1) else {
            throw CacheError(.invalidConfiguration, "hot-key store: keysPerNamespace and lifetime must be positive")
        }
        self.client = client
        self.configuration = configuration
    }

    /// The sorted set holding `namespace`'s hot list.
    public func listKey(namespace: String) -> String { "\(configuration.keyPrefix){\(namespace)}" }

    /// Adds `counts` (estimated reads per storage key, by namespace) to the shared lists, trims
    /// them and renews their lifetime.
    ///
    /// - Throws: ``RedisError`` from the first namespace whose pipeline failed; the other
    ///   namespaces are still published.
    public func publish(_ counts: [String: [HotKey]]) async throws {
        var firstError: RedisError?
        for (namespace, keys) in counts.sorted(by: { $0.key < $1.key }) where !keys.isEmpty {
            let list = listKey(namespace: namespace)
            var commands: [any RedisCommand] = keys.map { RawCommand(["ZINCRBY", list, String($0.count), $0.storageKey], keys: [list]) }
            commands.append(RawCommand(["ZREMRANGEBYRANK", list, "0", String(-(configuration.keysPerNamespace + 1))], keys: [list]))
            commands.append(RawCommand(["PEXPIRE", list, String(RedisCacheTier.milliseconds(roundingUp: configuration.lifetime))], keys: [list]))
            do throws(RedisError) {
                for result in try await client.pipeline(commands) {
                    if case .failure(let error) = result { throw error }
                }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// The storage keys of `namespace`'s hottest keys, hottest first, at most `limit`; empty when
    /// nothing was published (or the list expired).
    ///
    /// - Throws: ``RedisError`` when Redis cannot be read.
    public func hotKeys(namespace: String, limit: Int) async throws -> [String] {
        try await rankedKeys(namespace: namespace, limit: limit).map(\.storageKey)
    }

    /// The hottest keys of `namespace` with their summed counts, hottest first.
    ///
    /// - Throws: ``RedisError`` when Redis cannot be read or answers with something else than
    ///   member/score pairs.
    public func rankedKeys(namespace: String, limit: Int) async throws -> [HotKey] {
        guard limit > 0 else { return [] }
        let list = listKey(namespace: namespace)
        let reply = try await client.rawValue(["ZRANGE", list, "0", String(limit - 1), "REV", "WITHSCORES"])
        let flat: [RESPValue]
        switch reply {
        case .array(let values), .set(let values): flat = values
        case .null: return []
        default: throw RedisError(.unexpectedReply, command: "ZRANGE", serverMessage: "not an array")
        }
        var result: [HotKey] = []
        var index = 0
        while index < flat.count {
            // RESP3 nests [member, score] pairs; RESP2 interleaves them.
            let member: RESPValue
            let score: RESPValue
            if case .array(let pair) = flat[index], pair.count == 2 {
                (member, score) = (pair[0], pair[1])
                index += 1
            } else if index + 1 < flat.count {
                (member, score) = (flat[index], flat[index + 1])
                index += 2
            } else {
                throw RedisError(.unexpectedReply, command: "ZRANGE", serverMessage: "odd member/score list")
            }
            guard case .bulkString(let buffer) = member else {
                throw RedisError(.unexpectedReply, command: "ZRANGE", serverMessage: "member is not a string")
            }
            result.append(HotKey(storageKey: String(buffer: buffer), count: Self.count(score)))
        }
        return result
    }

    private static func count(_ score: RESPValue) -> Int {
        switch score {
        case .double(let value): Int(clamping: Int64(value.isFinite ? value : 0))
        case .integer(let value): value
        case .bulkString(let buffer): Int(Double(String(buffer: buffer)) ?? 0)
        default: 0
        }
    }
}
