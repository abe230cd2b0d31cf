/// Request latencies of one run, kept exactly (a two-minute demo records a few million samples).
struct LatencySamples: Sendable {
    private(set) var microseconds: [UInt32] = []

    mutating func record(_ duration: Duration) {
        let value = duration.cacheMicroseconds
        microseconds.append(UInt32(clamping: max(0, value)))
    }

    mutating func merge(_ other: LatencySamples) { microseconds.append(contentsOf: other.microseconds) }

    var count: Int { microseconds.count }

    /// Percentiles in milliseconds (p in 0...100), computed on one sorted copy.
    func percentiles(_ ps: [Double]) -> [Double] {
        guard !microseconds.isEmpty else { return ps.map { _ in 0 } }
        let sorted = microseconds.sorted()
        return ps.map { p in
            let index = min(sorted.count - 1, Int((p / 100) * Double(sorted.count - 1)).clamped(to: 0...(sorted.count - 1)))
            return Double(sorted[index]) / 1000
        }
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
