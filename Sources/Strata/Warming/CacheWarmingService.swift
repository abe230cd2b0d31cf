public import Logging
public import ServiceLifecycle

/// A swift-service-lifecycle `Service` that warms caches at startup and then marks them ready.
///
/// ```swift
/// let readiness = CacheReadiness()
/// let warming = CacheWarmingService(readiness: readiness, jobs: [
///     .hotKeys(cache: cache, namespace: products, source: hotKeyStore, limit: 500) { key in
///         try await database.product(id: Int(key.parts[0])!)
///     },
/// ])
/// // ServiceGroup(services: [client, cache, warming, app], …); route "/ready" to `readiness`.
/// ```
///
/// Jobs run one after the other (each with its own bounded concurrency). Readiness is marked
/// however they end — a failed job (its key list could not be read) is logged, and a key's load
/// failure is only counted — because an instance that refuses traffic forever is worse than a
/// cold one. The service then stays up until graceful shutdown, as a service group expects.
public struct CacheWarmingService: Service {
    /// One warm: a name for logs and the work.
    public struct Job: Sendable {
        /// Names the job in logs (a namespace name, never a key).
        public var name: String
        /// Runs the warm and returns its summary.
        public var run: @Sendable () async throws -> WarmSummary

        /// Creates a job from any warm.
        public init(name: String, run: @escaping @Sendable () async throws -> WarmSummary) {
            self.name = name
            self.run = run
        }

        /// Warms `namespace` from the hot list `source` publishes.
        public static func hotKeys<Value: Sendable>(
            cache: StrataCache, namespace: CacheNamespace<Value>, source: any HotKeySource, limit: Int = 1_000,
            concurrency: Int = 8, options: CacheEntryOptions? = nil,
            load: @escaping @Sendable (CacheKey<Value>) async throws -> Value?
        ) -> Job {
            Job(name: namespace.name) {
                try await cache.warm(namespace, from: source, limit: limit, concurrency: concurrency, options: options, load: load)
            }
        }

        /// Warms a fixed list of keys.
        public static func keys<Value: Sendable>(
            cache: StrataCache, namespace: CacheNamespace<Value>, keys: [CacheKey<Value>], concurrency: Int = 8,
            options: CacheEntryOptions? = nil, load: @escaping @Sendable (CacheKey<Value>) async throws -> Value?
        ) -> Job {
            Job(name: namespace.name) {
                try await cache.warm(namespace, keys: keys, concurrency: concurrency, options: options, load: load)
            }
        }
    }

    /// Set after the jobs.
    public let readiness: CacheReadiness
    let jobs: [Job]
    let logger: Logger

    /// Creates the service.
    public init(readiness: CacheReadiness, jobs: [Job], logger: Logger = Logger(label: "strata.warming")) {
        self.readiness = readiness
        self.jobs = jobs
        self.logger = logger
    }

    /// Runs the jobs, marks the cache ready, and waits for graceful shutdown or cancellation.
    public func run() async throws {
        _ = await warmAndMarkReady()
        try? await gracefulShutdown()
    }

    /// Runs the jobs and marks the cache ready; returns the summaries of the jobs that could run.
    /// For callers that warm outside a service group (tests, a re-warm after an outage).
    @discardableResult
    public func warmAndMarkReady() async -> [String: WarmSummary] {
        var summaries: [String: WarmSummary] = [:]
        for job in jobs {
            guard !Task.isCancelled else { break }
            do {
                let summary = try await job.run()
                summaries[job.name] = summary
                logger.info("cache warmed", metadata: [
                    "job": "\(job.name)", "keys": "\(summary.total)", "loaded": "\(summary.loaded)",
                    "failed": "\(summary.failed)", "duration": "\(summary.duration)",
                ])
            } catch {
                logger.warning("cache warm skipped", metadata: ["job": "\(job.name)", "error": "\(error)"])
            }
        }
        readiness.markReady()
        return summaries
    }
}
