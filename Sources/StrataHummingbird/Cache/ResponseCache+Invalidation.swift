import HTTPTypes
import Hummingbird
import Logging
import Strata

/// What one invalidation did.
public struct InvalidationReport: Sendable, Hashable {
    /// Response entries removed from Strata (from this process's in-process tier and from Redis).
    public var removedEntries: Int
    /// Tags whose index could not be read; their entries stay until they expire.
    public var unreadableTags: Int
    /// Entries whose removal from the distributed tier failed (Redis unavailable).
    public var failedRemovals: Int
    /// Names of the purgers that still failed after every retry.
    public var failedPurgers: [String]
    /// Whether the edge purge was queued for ``ResponseCache/run()`` instead of awaited.
    public var edgePurgeQueued: Bool

    /// Whether everything that should have been removed was removed (or queued for removal).
    public var isComplete: Bool { unreadableTags == 0 && failedRemovals == 0 && failedPurgers.isEmpty }
}

extension ResponseCache {
    /// Invalidates every response tagged with any of `tags`: removes the entries from Strata's
    /// tiers (this process's in-process tier and Redis) and purges the tags at every edge.
    ///
    /// Other instances' in-process copies expire after the policy's `memoryFreshFor`. A fill
    /// that started before this call is not stored when it completes (in this process).
    /// Waits for the edge purges, including retries (bounded by ``Configuration/purgeRetry``).
    ///
    /// - Complexity: one index drain per tag, one removal per entry (16 at a time), one purge
    ///   request per chunk of tags and purger.
    @discardableResult
    public func invalidate(tags: [String]) async -> InvalidationReport {
        configuration.metrics.invalidation("tags")
        return await invalidate(validTags(tags), edge: .await)
    }

    /// Invalidates the cached variants (any query, any `Vary` value) of one URI.
    @discardableResult
    public func invalidate(host: String, path: String) async -> InvalidationReport {
        configuration.metrics.invalidation("uri")
        return await invalidate([ResponseCacheKey.uriTag(host: host, path: path)], edge: .await)
    }

    enum EdgeMode { case await, queue }

    func invalidate(_ tags: [String], edge: EdgeMode) async -> InvalidationReport {
        generation.add(1, ordering: .sequentiallyConsistent)
        var report = InvalidationReport(removedEntries: 0, unreadableTags: 0, failedRemovals: 0, failedPurgers: [], edgePurgeQueued: false)
        var members = Set<String>()
        for tag in tags {
            do {
                members.formUnion(try await tagIndex.drain(tag: tag))
            } catch {
                report.unreadableTags += 1
                configuration.metrics.tagIndexFailures.increment()
                configuration.logger.warning("tag index unreadable; entries of a tag stay until they expire", metadata: ["error": "\(type(of: error))"])
            }
        }
        let (removed, failed) = await remove(Array(members))
        report.removedEntries = removed
        report.failedRemovals = failed
        configuration.metrics.invalidatedEntries.increment(by: Int64(removed))
        guard !purgers.isEmpty, !tags.isEmpty else { return report }
        if edge == .queue {
            switch purgeQueue.offer(tags) {
            case .queued:
                report.edgePurgeQueued = true
                return report
            case .full:
                for counters in purgeCounters { counters.failures.increment() }
                configuration.logger.error("edge purge queue full; a purge was dropped", metadata: ["tags": "\(tags.count)"])
                report.failedPurgers = purgers.map(\.name)
                return report
            case .notRunning:
                break
            }
        }
        report.failedPurgers = await purgeEdge(tags: tags)
        return report
    }

    /// Removes entries, 16 at a time.
    private func remove(_ members: [String]) async -> (removed: Int, failed: Int) {
        var removed = 0
        var failed = 0
        var next = 0
        await withTaskGroup(of: Bool.self) { group in
            func startNext() {
                guard next < members.count else { return }
                let key = self.key(members[next])
                next += 1
                group.addTask { await self.cache.remove(key) }
            }
            for _ in 0..<16 { startNext() }
            while let ok = await group.next() {
                if ok { removed += 1 } else { failed += 1 }
                startNext()
            }
        }
        return (removed, failed)
    }

    /// Purges `tags` at every edge, each purger with its own retries; returns the names of the
    /// purgers that failed every attempt.
    func purgeEdge(tags: [String]) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for (purger, counters) in zip(purgers, purgeCounters) {
                group.addTask { await self.purgeWithRetries(purger, counters: counters, tags: tags) ? nil : purger.name }
            }
            var failed: [String] = []
            for await name in group { if let name { failed.append(name) } }
            return failed.sorted()
        }
    }

    private func purgeWithRetries(_ purger: any EdgePurger, counters: ResponseCacheMetrics.PurgeCounters, tags: [String]) async -> Bool {
        let retry = configuration.purgeRetry
        for attempt in 1...retry.maximumAttempts {
            if attempt > 1 {
                counters.retries.increment()
                do {
                    try await configuration.clock.sleep(for: retry.delay(beforeAttempt: attempt, random: configuration.random()))
                } catch {
                    break
                }
            }
            counters.attempts.increment()
            do {
                try await purger.purge(tags: tags)
                return true
            } catch {
                configuration.logger.debug(
                    "edge purge attempt failed", metadata: ["purger": "\(purger.name)", "attempt": "\(attempt)", "error": "\(error)"])
            }
        }
        counters.failures.increment()
        configuration.logger.error(
            "edge purge failed after every attempt; tagged objects stay at the edge until they expire",
            metadata: ["purger": "\(purger.name)", "attempts": "\(retry.maximumAttempts)", "tags": "\(tags.count)"])
        return false
    }

    /// Tags that can travel to the index and the edge; invalid ones are logged and skipped.
    private func validTags(_ tags: [String]) -> [String] {
        let valid = tags.filter(SurrogateKeys.isValid)
        if valid.count != tags.count {
            configuration.logger.warning("invalid tags skipped in an invalidation", metadata: ["count": "\(tags.count - valid.count)"])
        }
        return Array(Set(valid)).sorted()
    }

    /// Invalidates what a successful unsafe request changed: its target URI and a same-origin
    /// `Location` / `Content-Location`. Strata is updated before returning; edge purges are
    /// queued for ``run()`` (sent inline when it is not running).
    func invalidateAfterUnsafeRequest(method: HTTPRequest.Method, host: String, path: String, response: Response) async {
        guard configuration.invalidatesOnUnsafeMethods, ![.get, .head, .options, .trace, .connect].contains(method),
            (200..<400).contains(response.status.code)
        else { return }
        var paths = [path]
        for name in [HTTPField.Name.location, HTTPField.Name.contentLocation] {
            if let value = response.headers[name], let target = Self.sameOriginPath(value, host: host, basePath: path) {
                paths.append(target)
            }
        }
        let tags = Array(Set(paths.map { ResponseCacheKey.uriTag(host: host, path: $0) })).sorted()
        configuration.metrics.invalidation("unsafe-method")
        _ = await invalidate(tags, edge: .queue)
    }

    /// The path of `reference` when it points at the same host (absolute URL with the same
    /// authority, absolute path, or relative path); `nil` for another origin.
    static func sameOriginPath(_ reference: String, host: String, basePath: String) -> String? {
        var reference = Substring(reference.trimmingHTTPWhitespace())
        if let cut = reference.firstIndex(where: { $0 == "?" || $0 == "#" }) { reference = reference[..<cut] }
        if reference.hasPrefix("//") { return nil }
        if let schemeEnd = reference.range(of: "://") {
            let scheme = reference[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { return nil }
            let rest = reference[schemeEnd.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            guard ResponseCacheKey.normalisedHost(String(rest[..<slash])) == ResponseCacheKey.normalisedHost(host) else { return nil }
            let path = rest[slash...]
            return path.isEmpty ? "/" : String(path)
        }
        if reference.hasPrefix("/") { return String(reference) }
        guard !reference.isEmpty, !reference.contains(":") else { return nil }
        let directory = basePath.lastIndex(of: "/").map { basePath[...$0] } ?? "/"
        return String(directory) + reference
    }
}
