import NIOCore

// Client tracking over a cluster (see ClusterTrackingSession for what flushes local copies and
// why), and the two hooks it needs from the cluster client: waiting for the first slot map, and
// hearing about every map installed after it.

extension RedisClusterClient {
    /// Runs `body` with a tracked reader over the cluster; `onInvalidation` hears every
    /// invalidation from every primary.
    ///
    /// The reader keeps one dedicated RESP3 tracking connection per primary and sends each read
    /// on the connection of the node serving its key's slot (following `MOVED` and `ASK`). The
    /// set of connections follows the slot map: a new primary gets one, a node that is no longer
    /// a primary loses its own.
    ///
    /// `onInvalidation` is called with the keys a node invalidated; with `.all(.flushed)` when a
    /// node was flushed; with `.all(.disconnected)` when any node's tracking connection was lost
    /// (it then reconnects with backoff, and reads of that node's slots fail fast with
    /// `connectionClosed` meanwhile); and with `.all(.topologyChanged)` when a new slot map moved
    /// any slot to another primary (a reshard, a failover). Every `.all` means "drop everything":
    /// the reader does not track which node a key was read from. Calls for one node arrive in the
    /// order that node sent them, on its connection's event loop, before any later reply on that
    /// connection; calls for different nodes may run concurrently, so the handler must be
    /// thread-safe (a `Mutex`-protected map).
    ///
    /// A slot move is noticed when the map is re-read: on the first `MOVED` any command of this
    /// client meets, or at the periodic refresh. Keys migrated off a node are invalidated by that
    /// node (migration deletes them there), but a key that was *absent* when read can be written
    /// on its slot's new owner before the map is re-read; cache misses briefly, if at all.
    ///
    /// - Throws: the refresh failure or `timeout` when no slot map is known within the
    ///   configuration's `commandTimeout`; `connectionFailed` when no primary's tracking
    ///   connection could be opened (for example, a RESP2-only configuration); or whatever `body`
    ///   throws.
    public func withTracking<Result: Sendable>(
        _ options: RedisTrackingOptions = RedisTrackingOptions(),
        onInvalidation: @escaping @Sendable (RedisInvalidation) -> Void,
        _ body: (RedisTrackedReader) async throws -> Result
    ) async throws -> Result {
        let session = ClusterTrackingSession(cluster: self, options: options, onInvalidation: onInvalidation)
        let observer = addTopologyObserver { session.topologyChanged($0) }
        defer { removeTopologyObserver(observer) }
        return try await RedisTrackedReader.withReader(.cluster(session), body)
    }

    /// The slot map, waiting (and asking for refreshes) until one is known or `deadline` passes.
    func waitForTopology(deadline: NIODeadline) async throws(RedisError) -> ClusterTopology {
        while true {
            let (topology, refreshError) = try state.withLock { state throws(RedisError) in
                guard !state.isShutDown else { throw RedisError(.shutdown) }
                return (state.topology, state.lastRefreshError)
            }
            if let topology { return topology }
            guard NIODeadline.now() < deadline else {
                throw refreshError ?? RedisError(.timeout, serverMessage: "no cluster slot map loaded yet")
            }
            requestRefresh()
            try await pause(.milliseconds(20), before: deadline)
        }
    }

    /// Calls `observer` with every slot map installed from now on; returns an id for
    /// ``removeTopologyObserver(_:)``.
    func addTopologyObserver(_ observer: @escaping @Sendable (ClusterTopology) -> Void) -> Int {
        state.withLock { state in
            defer { state.nextObserverID += 1 }
            state.topologyObservers[state.nextObserverID] = observer
            return state.nextObserverID
        }
    }

    /// Stops calling an observer.
    func removeTopologyObserver(_ id: Int) {
        _ = state.withLock { $0.topologyObservers.removeValue(forKey: id) }
    }
}
