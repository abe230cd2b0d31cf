/// Feeding the hot-key tracker from the read path.
extension StrataCache {
    /// An in-process lookup that records one read in `sampleEvery` with the hot-key tracker.
    ///
    /// Hits and misses are sampled alike, so the tracker sees the key popularity of all reads,
    /// not only of those that had to load.
    @inline(__always)
    func memoryValue<Value>(for key: CacheKey<Value>) -> MemoryEntry? {
        guard let memory else { return nil }
        guard let tracker = hotKeyTracker else { return memory.value(forKey: key.storageKey) }
        let (entry, sampled) = memory.value(forKey: key.storageKey, sampleMask: tracker.sampleMask)
        if sampled { tracker.recordSampledRead(namespace: key.namespace.name, storageKey: key.storageKey) }
        return entry
    }
}
