/// Keeping other instances' in-process tiers coherent through the invalidation bus.
extension StrataCache {
    /// Applies what the bus delivered to this instance's in-process tier.
    func apply(_ event: InvalidationEvent) {
        switch event {
        case .invalidate(let keys):
            for key in keys {
                memory?.removeValue(forKey: key)
                flights.invalidated(key)
            }
            record(.invalidationReceived(keys: keys.count))
        case .tagEpoch(let tag, let epoch):
            observeEpoch(epoch, of: tag, onlyIfKnown: true)
            record(.invalidationReceived(keys: 0))
        case .flush(let reason):
            memory?.removeAll()
            // A load running now may have read the source before a write whose invalidation was
            // missed: later callers must not join it.
            flights.invalidatedAll()
            // Tag bumps may have been missed too: the flush covers the in-process tier, the
            // refetch covers entries read from the distributed tier.
            requestTagEpochRefresh()
            record(.memoryFlushed(reason: reason))
            if reason != .subscribed {
                configuration.logger.notice(
                    "in-process tier flushed: invalidations may have been missed", metadata: ["reason": "\(reason.rawValue)"])
            }
        }
    }

    /// Tells the other instances that `keys` changed. Failures are counted and logged; the
    /// affected copies elsewhere expire after their in-process lifetime at the latest.
    @discardableResult
    func announce(_ keys: [String]) async -> Bool {
        guard invalidationBus != nil else { return true }
        var scopes: [InvalidationMessage.Scope] = []
        var remaining = keys[...]
        while !remaining.isEmpty {
            let chunk = remaining.prefix(InvalidationMessage.maximumKeysPerMessage)
            remaining = remaining.dropFirst(chunk.count)
            scopes.append(.keys(Array(chunk)))
        }
        return await publish(scopes, keys: keys.count)
    }

    /// Publishes `scopes` in order; failures are counted and logged.
    @discardableResult
    func publish(_ scopes: [InvalidationMessage.Scope], keys: Int) async -> Bool {
        guard let bus = invalidationBus else { return true }
        do {
            for scope in scopes { try await bus.publish(scope) }
            record(.invalidationPublished(keys: keys))
            return true
        } catch {
            record(.invalidationPublishFailed)
            configuration.logger.warning(
                "could not publish an invalidation; other instances keep their copies until memoryFreshFor passes",
                metadata: ["error": "\(String(describing: type(of: error)))"])
            return false
        }
    }

    /// Runs the bus until cancelled, retrying after failures with a short backoff.
    func runInvalidationBus(_ bus: any InvalidationBus) async {
        await retryingUntilCancelled {
            try await bus.run { [weak self] event in self?.apply(event) }
        } onFailure: { attempt in
            // Whatever was published while the bus was down is lost.
            apply(.flush(.disconnected))
            configuration.logger.warning("invalidation bus failed; retrying", metadata: ["attempt": "\(attempt)"])
        }
    }

    /// Runs a long-lived subscription (`body` returns only when it ends cleanly) until the task is
    /// cancelled, backing off 100 ms … 2 s between failures.
    func retryingUntilCancelled(_ body: () async throws -> Void, onFailure: (Int) -> Void = { _ in }) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await body()
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                onFailure(failures)
                try? await ContinuousClock().sleep(for: .milliseconds(min(2000, 50 << min(failures, 6))))
            }
        }
    }
}
