public import Redis
public import Strata

/// An ``InvalidationBus`` on Redis server-assisted client tracking (RESP3, broadcast mode): Redis
/// itself tells every instance which cache keys changed.
///
/// Each instance keeps one tracking connection with `CLIENT TRACKING ON BCAST` for the cache's
/// key prefixes. Every write of a matching key — this library's fills, removals and Lua
/// scripts, and any other client's writes, expiries and evictions — reaches every instance as an
/// invalidation of the entry it belongs to (`{k}:lease`, `{k}:wm`, … count for `{k}`).
/// ``publish(_:)`` writes a short-lived marker `{k}:inv` per invalidated key: deleting a value
/// Redis does not hold (its fill failed while the instance kept it in memory) reports nothing,
/// the marker always does. Compared with ``RedisInvalidationBus``:
/// - writes made outside Strata (a script, another service, `redis-cli`) invalidate too;
/// - every fill also invalidates, so an instance drops the copy it just stored and reads it from
///   Redis once more (one extra GET per fill), and the other instances drop copies they had;
/// - the traffic is one push per written key to every instance.
///
/// Lost invalidations are reported as flushes, as with pub/sub: the first subscription, a lost
/// tracking connection (Redis's `tracking-redir-broken` included), and `FLUSHALL`/`FLUSHDB`.
/// ``publish(_:)`` of `.everything` writes ``Configuration/flushKey``, which every instance
/// tracks and turns into a flush.
public struct RedisTrackingInvalidationBus: InvalidationBus {
    /// Settings for the bus.
    public struct Configuration: Sendable, Hashable {
        /// Key prefixes to track. The default, `{`, covers every Strata cache key (they start
        /// with their hash tag); narrow it (`{product:`) to one namespace.
        public var prefixes: [String]
        /// The key written to ask every instance to flush its in-process tier.
        public var flushKey: String
        /// How long an invalidation marker lives (it only needs to be written, not kept).
        public var markerLifetime: Duration

        /// Creates a configuration.
        public init(prefixes: [String] = ["{"], flushKey: String = "strata:flush-in-process", markerLifetime: Duration = .seconds(1)) {
            self.prefixes = prefixes
            self.flushKey = flushKey
            self.markerLifetime = markerLifetime
        }
    }

    private let client: RedisClient
    private let configuration: Configuration

    /// Creates a bus over `client` (which must be running and able to speak RESP3).
    public init(client: RedisClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
    }

    /// Writes an invalidation marker per key (pipelined; each in its key's hash slot), or
    /// increments ``Configuration/flushKey`` for `.everything`.
    public func publish(_ scope: InvalidationMessage.Scope) async throws {
        switch scope {
        case .everything:
            _ = try await client.rawValue(["INCR", configuration.flushKey])
        case .keys(let keys):
            let markers: [any RedisCommand] = keys.map { RawCommand(["SET", $0 + Self.markerSuffix, "1", "PX", markerLifetime]) }
            for result in try await client.pipeline(markers) { _ = try result.get() }
        case .tagEpoch(let tag, let epoch):
            // A push carries key names only, so the name carries the tag and its new epoch.
            _ = try await client.rawValue(["SET", "\(Self.tagEpochPrefix)\(epoch):\(tag)", "1", "PX", markerLifetime])
        }
    }

    private var markerLifetime: String { "\(max(1, configuration.markerLifetime.cacheMilliseconds))" }

    /// Names of the keys that announce a tag's new epoch: `strata:tag-epoch:<epoch>:<tag>`.
    static let tagEpochPrefix = "strata:tag-epoch:"

    static let markerSuffix = ":inv"

    /// Keeps the tracking connection until the task is cancelled and hands every push to
    /// `deliver`; the Redis client reconnects it after a loss (flushing on both sides of the gap).
    public func run(deliver: @escaping @Sendable (InvalidationEvent) -> Void) async throws {
        let flushKey = configuration.flushKey
        let options = RedisTrackingOptions(mode: .broadcast(prefixes: configuration.prefixes + [flushKey, Self.tagEpochPrefix]))
        try await client.withTracking(options) { invalidation in
            for event in Self.events(for: invalidation, flushKey: flushKey) { deliver(event) }
        } _: { _ in
            // Tracking is on from here: anything written before is unknown.
            deliver(.flush(.subscribed))
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }

    /// What the cache must do for one tracking message. Broadcast pushes are batched per prefix,
    /// so one message can announce several tag epochs, or mix them with other keys.
    static func events(for invalidation: RedisInvalidation, flushKey: String) -> [InvalidationEvent] {
        switch invalidation {
        case .keys(let keys):
            if keys.contains(flushKey) { return [.flush(.requested)] }
            var events: [InvalidationEvent] = []
            var entries: [String] = []
            for key in keys {
                if let bump = tagEpoch(announcedBy: key) {
                    events.append(.tagEpoch(tag: bump.tag, epoch: bump.epoch))
                } else {
                    entries.append(key)
                }
            }
            if !entries.isEmpty { events.append(.invalidate(entryKeys(entries))) }
            return events
        case .all(.flushed):
            return [.flush(.requested)]
        case .all:
            return [.flush(.disconnected)]
        }
    }

    /// The cache entry a written key belongs to: `{k}` for `{k}`, `{k}:lease`, `{k}:inv`, … (a
    /// cache key is its hash tag, and encoded key parts never contain `}`).
    static func entryKey(_ key: String) -> String {
        guard key.hasPrefix("{"), let close = key.firstIndex(of: "}") else { return key }
        return String(key[...close])
    }

    /// The distinct entries `keys` belong to, in first-seen order.
    static func entryKeys(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.map(entryKey).filter { seen.insert($0).inserted }
    }

    /// The tag and epoch a `strata:tag-epoch:<epoch>:<tag>` key announces.
    static func tagEpoch(announcedBy key: String) -> (tag: String, epoch: Int64)? {
        guard key.hasPrefix(tagEpochPrefix) else { return nil }
        let rest = key.dropFirst(tagEpochPrefix.count)
        guard let colon = rest.firstIndex(of: ":"), let epoch = Int64(rest[..<colon]) else { return nil }
        let tag = String(rest[rest.index(after: colon)...])
        return tag.isEmpty ? nil : (tag, epoch)
    }
}
