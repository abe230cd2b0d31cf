/// Encoding entries for the distributed tier and decoding them back.
extension StrataCache {
    enum DistributedRead: Sendable {
        case found(ResolvedEntry)
        case notFound
        case unavailable
    }

    nonisolated(nonsending) func readDistributed<Value: Sendable>(key: CacheKey<Value>) async -> DistributedRead {
        guard let distributed else { return .unavailable }
        let result = await distributed.get(key.storageKey, now: clock.now, record: record)
        return await decode(result, key: key)
    }

    /// Decodes what the tier returned; an entry whose tags moved on since its fill is a miss.
    nonisolated(nonsending) func decode<Value: Sendable>(_ result: DistributedTierGuard.ReadResult, key: CacheKey<Value>) async -> DistributedRead {
        switch result {
        case .notFound: return .notFound
        case .unavailable: return .unavailable
        case .found(let bytes):
            guard let entry = decodeEntry(bytes, codec: key.namespace.codec, epochTag: key.namespace.epochTag, memo: key.namespace.epochCellMemo) else {
                record(.decodeFailed(namespace: key.namespace.name))
                return .notFound
            }
            switch await judge(entry.metadata.tagStamps) {
            case .current:
                return .found(entry)
            case .stale:
                record(.tagInvalidated(namespace: key.namespace.name))
                return .notFound
            case .unresolved:
                // The epochs could not be fetched: an entry that cannot be vouched for is not served.
                return .notFound
            }
        }
    }

    /// - Parameters: `epochTag`, `memo`: the namespace's (passed apart: copying the whole namespace
    ///   retains every one of its references, which contending tasks pay for on a hit).
    func decodeEntry<Value: Sendable>(
        _ bytes: [UInt8], codec: any CacheCodec<Value>, epochTag: String, memo: NamespaceEpochCellMemo
    ) -> ResolvedEntry? {
        guard let envelope = try? CacheEnvelope(decoding: bytes) else { return nil }
        let stamps: [TagStamp]
        if envelope.tagEpochs.isEmpty || tagStore == nil {
            stamps = []
        } else if envelope.tagEpochs.count == 1, envelope.tagEpochs[0].tag == epochTag {
            // The usual entry: tagged only with its namespace. No lock, no hashing.
            stamps = [TagStamp(cell: epochCell(of: epochTag, memo: memo), epoch: envelope.tagEpochs[0].epoch)]
        } else {
            stamps = tagTable.withLock { $0.stamps(recorded: envelope.tagEpochs) }
        }
        let metadata = EntryMetadata(
            createdAt: envelope.createdAt, freshUntil: envelope.freshUntil, staleUntil: envelope.staleUntil,
            recompute: envelope.recomputeTime, dataVersion: envelope.dataVersion, tagStamps: stamps)
        if envelope.isNegative { return ResolvedEntry(value: nil, metadata: metadata) }
        guard envelope.codecID == codec.id,
            let payload = try? envelope.decodedPayload(using: configuration.compression),
            let value = try? codec.decode(payload)
        else { return nil }
        return ResolvedEntry(value: value, metadata: metadata)
    }

    /// The cell of a namespace's epoch tag in this cache's table (memoised in the namespace).
    func epochCell(of epochTag: String, memo: NamespaceEpochCellMemo) -> TagEpochCell {
        if let cell = memo.cell(ofTable: tagTableIdentity) { return cell }
        let cell = tagTable.withLock { $0.cell(for: epochTag) }
        memo.remember(cell)
        return cell
    }

    func encodeEntry<Value: Sendable>(_ entry: ResolvedEntry, codec: any CacheCodec<Value>) -> [UInt8]? {
        var payload: [UInt8] = []
        if let value = entry.value {
            guard let typed = value as? Value, let encoded = try? codec.encode(typed) else { return nil }
            payload = encoded
        }
        let metadata = entry.metadata
        var envelope = CacheEnvelope(
            codecID: codec.id, flags: entry.value == nil ? .negative : [], createdAt: metadata.createdAt,
            freshUntil: metadata.freshUntil, staleUntil: metadata.staleUntil, recomputeTime: metadata.recompute,
            dataVersion: metadata.dataVersion,
            tagEpochs: metadata.tagStamps.map { CacheEnvelope.TagEpoch(tag: $0.tag, epoch: $0.epoch) }, payload: payload)
        envelope.compressPayload(using: configuration.compression)
        return envelope.encoded()
    }

    /// What became of a write to the distributed tier.
    enum DistributedWrite: Equatable {
        /// Stored, or nothing needed storing (no tier, or the options exclude it).
        case stored
        /// A conditional fill was refused: an invalidation or a newer version overtook it.
        case refused(FillOutcome)
        /// The tier failed or could not encode the value (counted and logged).
        case failed
    }

    /// Writes the entry to the distributed tier with a physical TTL that covers its stale window,
    /// conditionally (lease and/or version) when the tier supports it and the entry calls for it.
    @discardableResult
    func storeDistributed<Value: Sendable>(
        key: CacheKey<Value>, entry: ResolvedEntry, options: CacheEntryOptions, now: CacheInstant, leaseToken: String? = nil
    ) async -> DistributedWrite {
        guard options.tiers.contains(.writeDistributed), let distributed else { return .stored }
        guard let bytes = encodeEntry(entry, codec: key.namespace.codec) else {
            configuration.logger.error(
                "could not encode a value for the distributed tier; check the namespace's codec",
                metadata: ["namespace": "\(key.namespace.name)"])
            return .failed
        }
        let timeToLive = max(now.duration(to: entry.metadata.staleUntil), .milliseconds(1))
        if let coherentTier, leaseToken != nil || entry.metadata.dataVersion != nil {
            switch await conditionalFill(
                coherentTier, key: key, bytes: bytes, timeToLive: timeToLive, version: entry.metadata.dataVersion,
                leaseToken: leaseToken)
            {
            case .stored?: return .stored
            case let refusal?: return .refused(refusal)
            case nil: return .failed
            }
        }
        return await distributed.set(key.storageKey, value: bytes, timeToLive: timeToLive, now: now, record: record)
            ? .stored : .failed
    }
}
