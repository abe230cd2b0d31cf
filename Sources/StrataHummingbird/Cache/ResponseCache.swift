public import ServiceLifecycle
public import Strata
import Synchronization

/// The HTTP edge tier: whole responses cached in Strata's tiers, correct caching headers for
/// browsers and CDNs, surrogate keys, and invalidation that reaches both Strata and the edge.
///
/// ```swift
/// let responses = try ResponseCache(
///     cache: strata,
///     tagIndex: RedisResponseTagIndex(client: redis),
///     purgers: [VarnishXkeyPurger(endpoint: EdgeEndpoint(url: "http://127.0.0.1:6081")!)])
/// router.add(middleware: ResponseCacheMiddleware(cache: responses))
/// try router.cached(responses, policy: productPolicy).get("/products/{id}") { … }
/// ```
///
/// One instance per application, run as a swift-service-lifecycle `Service` next to the
/// `StrataCache`: its ``run()`` sends the edge purges that unsafe requests trigger, so a `POST`
/// never waits for the CDN. Everything else works without it (purges are then sent inline).
///
/// Failure behaviour: Strata's tiers degrade as Strata does (Redis down → in-process tier and
/// handler). A tag index that cannot be reached makes responses uncacheable (never cached
/// without a way to invalidate them) and is counted. Edge purges are retried per
/// ``Configuration/purgeRetry``; a purge that still fails is counted, logged and reported.
public final class ResponseCache: Service, Sendable {
    /// The Strata cache that holds the responses.
    public let cache: StrataCache
    /// Settings shared by every cached route.
    public let configuration: Configuration
    /// Where stored responses are indexed by tag.
    public let tagIndex: any ResponseTagIndex
    /// The edges purged on invalidation.
    public let purgers: [any EdgePurger]

    let namespace: CacheNamespace<CachedResponse>
    let purgeCounters: [ResponseCacheMetrics.PurgeCounters]
    /// Bumped by every invalidation; a fill that saw another value at its start is not stored.
    let generation = Atomic<UInt64>(0)
    let purgeQueue = PurgeQueue()

    /// Creates the response cache.
    ///
    /// - Parameters:
    ///   - cache: the Strata cache (its clock must be ``Configuration/clock``).
    ///   - configuration: shared settings.
    ///   - tagIndex: the tag index; `nil` uses a ``MemoryResponseTagIndex`` (right for one instance).
    ///   - purgers: the edges to purge (none when there is no CDN).
    /// - Throws: ``ResponseCacheError`` `.invalidConfiguration`.
    public init(
        cache: StrataCache, configuration: Configuration = Configuration(), tagIndex: (any ResponseTagIndex)? = nil,
        purgers: [any EdgePurger] = []
    ) throws(ResponseCacheError) {
        try configuration.validate()
        self.cache = cache
        self.configuration = configuration
        self.tagIndex = tagIndex ?? MemoryResponseTagIndex(clock: configuration.clock)
        self.purgers = purgers
        self.purgeCounters = purgers.map { configuration.metrics.purgeCounters(for: $0.name) }
        do {
            self.namespace = try CacheNamespace(
                configuration.namespace, version: configuration.namespaceVersion, codec: CachedResponseCodec())
        } catch {
            throw ResponseCacheError(.invalidConfiguration, "namespace: \(error.message)", underlying: error)
        }
    }

    /// Sends queued edge purges until cancelled or gracefully shut down; purges still queued at
    /// shutdown are sent before it returns.
    public func run() async throws {
        let stream = purgeQueue.open(capacity: configuration.purgeQueueCapacity)
        await withGracefulShutdownHandler {
            for await tags in stream {
                _ = await purgeEdge(tags: tags)
            }
        } onGracefulShutdown: {
            self.purgeQueue.close()
        }
    }

    /// The Strata key of a canonical key text.
    func key(_ text: String) -> CacheKey<CachedResponse> { namespace.key(text) }
}

/// The bounded queue between request handlers and ``ResponseCache/run()``.
final class PurgeQueue: Sendable {
    private let state = Mutex<AsyncStream<[String]>.Continuation?>(nil)

    /// Opens the queue for one consumer.
    func open(capacity: Int) -> AsyncStream<[String]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [String].self, bufferingPolicy: .bufferingOldest(capacity))
        state.withLock { $0 = continuation }
        return stream
    }

    /// Closes the queue; the consumer drains what is queued and ends.
    func close() {
        let continuation = state.withLock { current in
            defer { current = nil }
            return current
        }
        continuation?.finish()
    }

    enum Offer { case queued, full, notRunning }

    /// Queues a purge for the consumer.
    func offer(_ tags: [String]) -> Offer {
        guard let continuation = state.withLock({ $0 }) else { return .notRunning }
        switch continuation.yield(tags) {
        case .enqueued: return .queued
        case .dropped: return .full
        case .terminated: return .notRunning
        @unknown default: return .full
        }
    }
}
