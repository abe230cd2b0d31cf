import Synchronization

/// How often a cluster client met each cluster-level reply since it was created.
///
/// Every count is of replies the client handled itself (followed or retried), whatever the
/// command's final outcome. A steady stream of `moved` means the map goes stale often (frequent
/// resharding); `ask` and `tryAgain` appear while slots migrate; `clusterDown` while the cluster
/// cannot serve some slots (a failover in progress).
public struct ClusterRedirectStatistics: Sendable, Hashable {
    /// `MOVED` redirects followed.
    public var moved: Int
    /// `ASK` redirects followed.
    public var ask: Int
    /// `TRYAGAIN` replies retried.
    public var tryAgain: Int
    /// `CLUSTERDOWN` replies retried.
    public var clusterDown: Int

    /// Creates statistics.
    public init(moved: Int = 0, ask: Int = 0, tryAgain: Int = 0, clusterDown: Int = 0) {
        self.moved = moved
        self.ask = ask
        self.tryAgain = tryAgain
        self.clusterDown = clusterDown
    }
}

/// The live counters behind ``ClusterRedirectStatistics``: lock-free, bumped on the routing path.
final class ClusterCounters: Sendable {
    private let moved = Atomic(0)
    private let ask = Atomic(0)
    private let tryAgain = Atomic(0)
    private let clusterDown = Atomic(0)

    /// Counts a handled `MOVED`, `ASK`, `TRYAGAIN` or `CLUSTERDOWN`; other codes are ignored.
    func record(_ code: RedisError.Code) {
        switch code {
        case .moved: moved.add(1, ordering: .relaxed)
        case .ask: ask.add(1, ordering: .relaxed)
        case .tryAgain: tryAgain.add(1, ordering: .relaxed)
        case .clusterDown: clusterDown.add(1, ordering: .relaxed)
        default: break
        }
    }

    var snapshot: ClusterRedirectStatistics {
        ClusterRedirectStatistics(
            moved: moved.load(ordering: .relaxed), ask: ask.load(ordering: .relaxed),
            tryAgain: tryAgain.load(ordering: .relaxed), clusterDown: clusterDown.load(ordering: .relaxed)
        )
    }
}
