extension AdaptiveTinyLFU {
    /// Moves the window towards the size with the higher hit rate, by measuring the hit-rate
    /// gradient directly instead of comparing consecutive samples.
    ///
    /// The classic climber compares the hit rate of one sample with the previous one and keeps the
    /// direction that improved it. On real traces the hit rate moves more between two samples
    /// because the workload drifts than because the window moved, so that climber wanders (on
    /// cache2k's orm-busy at 1,000 entries it ended 1 to 15 points below LRU depending on the seed
    /// and tuning). This one observes, at the same moment and on the same traffic, the hits the two
    /// neighbouring configurations would have had:
    ///
    /// - a window larger by δ would still hold the last δ entries that left the window; the ones
    ///   that were *rejected* by admission are remembered (hashes only) in `departures`, and a miss
    ///   on one of them is a hit the larger window would have had;
    /// - a main area larger by δ would still hold its last δ victims, remembered in `victims`; a
    ///   miss on one of them is a hit a smaller window would have had.
    ///
    /// Each such ghost hit moves the window one step towards the configuration that would have hit.
    /// At equilibrium the marginal hits of both sides balance, which is where the hit rate peaks.
    /// Workload drift affects both histories alike, so it cancels instead of steering.
    ///
    /// A sans-I/O state machine: events are departures, evictions and misses; the action is the
    /// returned window move.
    struct HillClimber {
        /// The knobs of the climb; the defaults were tuned on the cache2k traces (see
        /// docs/architecture.md).
        struct Tuning: Sendable {
            /// δ, the probe distance: each history remembers this share of the capacity.
            var probeFraction = 0.1
            /// How far one ghost hit moves the window, in entries.
            var step = 1.0
        }

        let tuning: Tuning
        private var departures: GhostHistory
        private var victims: GhostHistory
        /// The capacity in entries the probe distance and the step are measured against.
        private(set) var capacity: Int

        init(capacityInEntries: Int, tuning: Tuning) {
            self.tuning = tuning
            capacity = max(1, capacityInEntries)
            let size = Self.probeSize(capacity, tuning)
            departures = GhostHistory(size: size)
            victims = GhostHistory(size: size)
        }

        /// Re-sizes the histories (a weight-bounded cache learns its entry count as it fills).
        mutating func resize(capacityInEntries: Int) {
            capacity = max(1, capacityInEntries)
            let size = Self.probeSize(capacity, tuning)
            departures = GhostHistory(size: size)
            victims = GhostHistory(size: size)
        }

        private static func probeSize(_ capacity: Int, _ tuning: Tuning) -> Int {
            max(8, Int(Double(capacity) * tuning.probeFraction))
        }

        /// An entry left the window: into main (`admitted`) or out of the cache.
        mutating func windowDeparture(hash: UInt64, admitted: Bool) {
            if admitted { departures.skip() } else { departures.remember(hash) }
        }

        /// Main evicted an entry.
        mutating func mainEviction(hash: UInt64) {
            victims.remember(hash)
        }

        /// A lookup missed; returns the window move (a signed share of the capacity) when the key
        /// was a ghost.
        mutating func missed(hash: UInt64) -> Double? {
            if departures.forget(hash) { return tuning.step / Double(capacity) }
            if victims.forget(hash) { return -tuning.step / Double(capacity) }
            return nil
        }
    }

    /// The hashes of the last `size` events of one kind, in a ring, with an index for O(1) lookup.
    struct GhostHistory {
        private var ring: [UInt64]
        /// Remembered hash → its ring position; a skipped position has no index entry.
        private var index: [UInt64: Int32] = [:]
        private var head = 0

        init(size: Int) {
            ring = Array(repeating: 0, count: max(1, size))
            index.reserveCapacity(ring.count)
        }

        /// Records an event worth remembering, forgetting the oldest.
        mutating func remember(_ hash: UInt64) {
            advance()
            ring[head] = hash
            index[hash] = Int32(head)
        }

        /// Records an event that only takes up room (an admitted departure).
        mutating func skip() {
            advance()
        }

        /// Whether `hash` is remembered; it is forgotten so that one ghost counts once.
        mutating func forget(_ hash: UInt64) -> Bool {
            index.removeValue(forKey: hash) != nil
        }

        private mutating func advance() {
            head = head + 1 == ring.count ? 0 : head + 1
            let old = ring[head]
            if let position = index[old], position == Int32(head) { index[old] = nil }
        }
    }
}
