// The eviction and admission engine of the in-process tier.
//
// W-TinyLFU in one paragraph: new entries enter a small LRU *window*. When the window overflows,
// its least recent entry becomes a *candidate* for the main area, a segmented LRU (a *probation*
// segment for entries seen once in main, a *protected* segment for entries hit again there). If
// the cache is full, the candidate competes with main's next victim (probation's least recent
// entry) and the one with the higher estimated frequency stays. Frequencies come from a 4-bit
// count-min sketch that is halved periodically, so popularity must be re-earned. The window lets
// bursts of new keys build up frequency before they must compete; the filter keeps one-hit
// wonders from flushing keys that are popular over a longer horizon.
//
// Why adaptive: the right window size depends on the workload. Frequency-biased traffic (a
// catalogue with a long-lived popular head) wants a tiny window; recency-biased traffic (sessions,
// database working sets that drift) wants a large one, because there a new key is more likely to be
// reused soon than an old frequent one. A fixed 1% window loses 15 points of hit ratio to plain
// LRU on such a trace (cache2k's orm-busy at 1,000 entries). So the window size is a control
// variable: `HillClimber` measures which of the two neighbouring sizes would have hit more (from
// ghost histories of recently rejected candidates and recently evicted victims) and moves the
// window that way; entries move between window and probation as the boundary moves.
//
// Shape: a sans-storage state machine. It knows slots (stable small integers it allocates), key
// hashes and weights, never keys or values. The storage shell maps keys to slots, tells the engine
// what happened (`recordHit`, `recordMiss`, `insert`, `remove`) and, after `evict(into:)`, drops
// the entries of the slots it is handed. Every operation is O(1) (amortised for the sketch's
// periodic halving and a window move, which touches at most the entries that change region).
//
// Hash flooding: the shell passes hashes mixed with a per-instance random seed, and when a
// candidate that is clearly warm loses to its victim it is still admitted with probability 1/128,
// so an attacker who inflates the victims' counts cannot lock the main area.

/// Adaptive W-TinyLFU over slots and hashes: decides which entries stay and which are evicted.
@usableFromInline
struct AdaptiveTinyLFU: Sendable {
    /// The knobs; defaults are what `MemoryCache` ships.
    struct Tuning: Sendable {
        /// The window's initial share of the capacity.
        var initialWindowFraction = 0.01
        /// The protected segment's share of the main area.
        var protectedFraction = 0.9
        /// Accesses between two halvings of the sketch, as a multiple of the capacity in entries.
        var sampleFactor = 10
        /// A losing candidate at least this frequent may still be admitted at random (flooding guard).
        var jitterFrequency = 6
        /// The window's adaptation; `nil` keeps the window at its initial size.
        var climber: HillClimber.Tuning? = HillClimber.Tuning()
    }

    private(set) var lists = AccessOrderLists()
    private(set) var sketch: FrequencySketch
    private var climber: HillClimber?
    /// The total weight allowed, `Int.max` when only the count is bounded.
    @usableFromInline let maximumWeight: Int
    /// The entry count allowed, `Int.max` when only the weight is bounded.
    let maximumCount: Int
    let tuning: Tuning
    /// The window's current share of the capacity, moved by the climber.
    private(set) var windowFraction: Double
    private var windowLimit = Limit(weight: 0, count: 0)
    private var protectedLimit = Limit(weight: 0, count: 0)
    private var random: UInt64

    /// A region's bound in both dimensions.
    private struct Limit {
        var weight: Int
        var count: Int
        func exceeded(by list: AccessOrderLists.List) -> Bool { list.weight > weight || list.count > count }
    }

    /// Creates an empty policy; at least one bound must be finite and positive.
    init(maximumWeight: Int, maximumCount: Int, seed: UInt64, tuning: Tuning = Tuning()) {
        precondition(maximumWeight > 0 && maximumCount > 0, "policy bounds must be positive")
        self.maximumWeight = maximumWeight
        self.maximumCount = maximumCount
        self.tuning = tuning
        random = seed | 1
        windowFraction = tuning.initialWindowFraction
        let expected = maximumCount != .max ? maximumCount : min(maximumWeight, 1024)
        sketch = FrequencySketch(expectedEntries: expected, sampleFactor: tuning.sampleFactor, seed: FrequencySketch.mix(seed))
        climber = tuning.climber.map { HillClimber(capacityInEntries: expected, tuning: $0) }
        updateLimits()
    }

    /// Live entries.
    var count: Int { lists.count }
    /// Summed weight of the live entries.
    var weight: Int { lists.weight }

    /// A lookup found this entry: count the access and refresh its recency.
    ///
    /// - Complexity: O(1).
    @usableFromInline
    mutating func recordHit(_ slot: Int32) {
        sketch.increment(lists[slot].hash)
        switch lists[slot].region {
        case .window, .protected:
            lists.move(slot, to: lists[slot].region)
        case .probation:
            lists.move(slot, to: .protected)
            demoteProtectedOverflow()
        case .free:
            preconditionFailure("hit on a free slot")
        }
    }

    /// A lookup missed. Only the window adaptation learns from it (was the key a ghost?): the
    /// key's frequency is counted when it is inserted, so the usual miss-then-insert counts one
    /// access, not two, and a cache that is only ever written still learns what is popular.
    ///
    /// - Complexity: O(1) amortised (a window move shifts at most the entries that change region).
    @usableFromInline
    mutating func recordMiss(hash: UInt64) {
        guard let move = climber?.missed(hash: hash) else { return }
        moveWindow(to: min(1, max(0, windowFraction + move)))
    }

    /// Counts an access to a new key and adds it to the window; returns its slot, or `nil` when
    /// the entry alone is heavier than the whole cache (it is then not kept). Call
    /// ``evict(into:)`` afterwards.
    @usableFromInline
    mutating func insert(hash: UInt64, weight: Int) -> Int32? {
        precondition(weight >= 0, "negative weight")
        sketch.increment(hash)
        guard weight <= maximumWeight else { return nil }
        let slot = lists.allocate(hash: hash, weight: weight, in: .window)
        if lists.count > sketch.capacity {
            sketch.ensureCapacity(lists.count)
            if maximumCount == .max { climber?.resize(capacityInEntries: lists.count) }
        }
        return slot
    }

    /// An existing entry was written again, possibly with a new weight: it counts as an access.
    /// Call ``evict(into:)`` afterwards when the weight grew.
    @usableFromInline
    mutating func recordUpdate(_ slot: Int32, weight: Int) {
        precondition(weight >= 0, "negative weight")
        lists.setWeight(slot, to: weight)
        sketch.increment(lists[slot].hash)
        let region = lists[slot].region
        lists.move(slot, to: region == .probation ? .protected : region)
        if region == .probation { demoteProtectedOverflow() }
    }

    /// Forgets an entry the storage removed (explicitly or because it expired). The slot is free
    /// for reuse afterwards.
    @usableFromInline
    mutating func remove(_ slot: Int32) {
        lists.free(slot)
    }

    /// Forgets every entry (slots restart from 0), keeping the frequencies and the window size.
    mutating func removeAll() {
        lists = AccessOrderLists()
    }

    /// Brings the cache back within its bounds, appending the slots of the entries it evicts to
    /// `evicted`. Those slots are free again: the caller must drop their entries before its next
    /// `insert`.
    ///
    /// - Complexity: O(1) amortised per inserted entry.
    @usableFromInline
    mutating func evict(into evicted: inout [Int32]) {
        while windowLimit.exceeded(by: lists.window) {
            let candidate = lists.window.head
            guard isOverCapacity else {
                climber?.windowDeparture(hash: lists[candidate].hash, admitted: true)
                lists.move(candidate, to: .probation)
                continue
            }
            let victim = lists.probation.head >= 0 ? lists.probation.head : lists.protected.head
            if victim >= 0 && admit(candidate: lists[candidate].hash, victim: lists[victim].hash) {
                evict(victim, into: &evicted)
                climber?.windowDeparture(hash: lists[candidate].hash, admitted: true)
                lists.move(candidate, to: .probation)
            } else {
                evict(candidate, into: &evicted)
            }
        }
        while isOverCapacity {
            var victim = lists.probation.head
            if victim < 0 { victim = lists.protected.head }
            if victim < 0 { victim = lists.window.head }
            evict(victim, into: &evicted)
        }
    }

    private var isOverCapacity: Bool { lists.weight > maximumWeight || lists.count > maximumCount }

    private mutating func evict(_ slot: Int32, into evicted: inout [Int32]) {
        let node = lists[slot]
        if node.region == .window {
            climber?.windowDeparture(hash: node.hash, admitted: false)
        } else {
            climber?.mainEviction(hash: node.hash)
        }
        lists.free(slot)
        evicted.append(slot)
    }

    /// Whether the candidate should replace the victim in the main area.
    private mutating func admit(candidate: UInt64, victim: UInt64) -> Bool {
        let candidateFrequency = sketch.frequency(candidate)
        let victimFrequency = sketch.frequency(victim)
        if candidateFrequency > victimFrequency { return true }
        guard candidateFrequency >= tuning.jitterFrequency else { return false }
        return nextRandom() & 127 == 0
    }

    private mutating func nextRandom() -> UInt64 {
        // xorshift64: only needs to be unpredictable from outside, not statistically perfect.
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }

    private mutating func demoteProtectedOverflow() {
        while protectedLimit.exceeded(by: lists.protected) {
            lists.move(lists.protected.head, to: .probation)
        }
    }

    private mutating func moveWindow(to target: Double) {
        guard target != windowFraction else { return }
        let grows = target > windowFraction
        windowFraction = target
        updateLimits()
        if grows {
            // The window takes main's least recent entries, so it is full at its new size at once.
            while lists.window.count < windowLimit.count && lists.window.weight < windowLimit.weight {
                let donor = lists.probation.head >= 0 ? lists.probation.head : lists.protected.head
                guard donor >= 0 else { break }
                lists.moveToFront(donor, of: .window)
            }
        } else {
            while windowLimit.exceeded(by: lists.window) {
                lists.move(lists.window.head, to: .probation)
            }
        }
        demoteProtectedOverflow()
    }

    private mutating func updateLimits() {
        func share(_ bound: Int, _ fraction: Double) -> Int {
            bound == .max ? .max : Int((Double(bound) * fraction).rounded())
        }
        windowLimit = Limit(weight: share(maximumWeight, windowFraction), count: share(maximumCount, windowFraction))
        let mainFraction = (1 - windowFraction) * tuning.protectedFraction
        protectedLimit = Limit(weight: share(maximumWeight, mainFraction), count: share(maximumCount, mainFraction))
    }
}
