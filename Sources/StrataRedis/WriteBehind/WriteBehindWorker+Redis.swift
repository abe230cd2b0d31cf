import NIOCore
import Redis
import RESP

/// The worker's Redis commands: each performs one action of the state machine.
extension WriteBehindWorker {
    /// KEYS: stream. ARGV: group, ids... Acknowledges and deletes, so a stream's length stays
    /// its backlog and nothing is trimmed that was not acknowledged.
    static let acknowledgeScript = RedisScript(
        """
        local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
        redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
        return acked
        """)

    /// KEYS: stream, dead-letter stream. ARGV: group, id, fields... Moves the entry only if it
    /// was still pending, so two workers racing on it leave one dead letter.
    static let deadLetterScript = RedisScript(
        """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
        redis.call('XDEL', KEYS[1], ARGV[2])
        return 1
        """)

    /// KEYS: stream. ARGV: group, consumer, '1' for `JUSTID`, ids... Claims each id that is
    /// still pending for this consumer, and only those: a heartbeat or a retry must never take
    /// an entry back from a worker that took it over. Returns the ids claimed. Without `JUSTID`
    /// each claim counts one more delivery.
    static let claimOwnScript = RedisScript(
        """
        local claimed = {}
        for i = 4, #ARGV do
          if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) == 1 then
            if ARGV[3] == '1' then
              redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
            else
              redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i])
            end
            claimed[#claimed + 1] = ARGV[i]
          end
        end
        return claimed
        """)

    /// Ids per script call (Lua's `unpack` has a stack limit near 8000).
    static let idsPerScript = 500

    func createGroups() async throws(RedisError) {
        for stream in streams.allStreams {
            try await client.createGroupIfMissing(stream, group: streams.group, startingAfter: "0", makeStream: true)
        }
    }

    func read(_ reader: RedisBlockingReader, count: Int, block: Duration) async throws(RedisError) -> [WriteBehindDelivery] {
        let reply = try await reader.send(
            XREADGROUP(
                group: streams.group, consumer: configuration.consumerName, streams: streams.allStreams.map { ($0, ">") },
                count: count, block: block))
        var deliveries: [WriteBehindDelivery] = []
        for (stream, entries) in reply {
            guard let partition = streams.partition(ofStream: stream) else { continue }
            for entry in entries where !entry.isDeleted {
                deliveries.append(WriteBehindDelivery(entry, partition: partition, deliveryCount: 1))
            }
        }
        return deliveries
    }

    /// One `XAUTOCLAIM` page, then the claimed entries' delivery counts (`XPENDING`), which the
    /// claim reply does not carry. The claim reset their idle time, so no other worker can take
    /// them between the two calls unless it uses a near-zero `claimIdle`.
    func claimAbandoned(partition: Int, from start: String) async throws(RedisError) -> ([WriteBehindDelivery], String) {
        let stream = streams.stream(partition: partition)
        let page = try await client.send(
            XAUTOCLAIM(
                stream, group: streams.group, consumer: configuration.consumerName, minimumIdle: configuration.claimIdle,
                start: start, count: 100))
        guard let first = page.entries.first, let last = page.entries.last else { return ([], page.nextStart) }
        let pending = try await client.send(
            XPENDINGRANGE(
                stream, group: streams.group, start: first.id, end: last.id,
                count: page.entries.count + configuration.maximumBuffered, consumer: configuration.consumerName))
        var counts: [String: Int] = [:]
        for entry in pending { counts[entry.id] = entry.deliveryCount }
        // An entry missing from our pending list was acknowledged meanwhile: nothing to do.
        let deliveries = page.entries.compactMap { entry -> WriteBehindDelivery? in
            guard !entry.isDeleted, let count = counts[entry.id] else { return nil }
            return WriteBehindDelivery(entry, partition: partition, deliveryCount: count)
        }
        return (deliveries, page.nextStart)
    }

    /// Claims `ids` again for this worker if they are still pending for it: `countingDelivery`
    /// for a retry (one more delivery each), not for a heartbeat (`JUSTID`, only the idle time
    /// resets). Returns the ids that were still this worker's.
    func claimOwn(partition: Int, ids: [String], countingDelivery: Bool) async throws(RedisError) -> Set<String> {
        var claimed = Set<String>()
        for chunk in Self.chunks(ids) {
            let arguments: [any RESPArgument & Sendable] =
                [streams.group, configuration.consumerName, countingDelivery ? "0" : "1"] + chunk
            claimed.formUnion(
                try await client.run(
                    Self.claimOwnScript, keys: [streams.stream(partition: partition)], arguments: arguments, as: [String].self))
        }
        return claimed
    }

    func acknowledge(partition: Int, ids: [String]) async throws(RedisError) {
        for chunk in Self.chunks(ids) {
            let arguments: [any RESPArgument & Sendable] = [streams.group] + chunk
            try await client.run(Self.acknowledgeScript, keys: [streams.stream(partition: partition)], arguments: arguments)
        }
    }

    private static func chunks(_ ids: [String]) -> [[any RESPArgument & Sendable]] {
        stride(from: 0, to: ids.count, by: idsPerScript).map { start in
            ids[start..<min(start + idsPerScript, ids.count)].map { $0 as any RESPArgument & Sendable }
        }
    }

    func deadLetter(_ letter: WriteBehindStateMachine.DeadLetter, partition: Int) async throws(RedisError) {
        var arguments: [any RESPArgument & Sendable] = [streams.group, letter.id]
        for field in letter.fields {
            arguments.append(field.name)
            arguments.append(ByteBuffer(bytes: field.value))
        }
        arguments += [
            WriteBehindField.originalID, letter.id, WriteBehindField.reason, letter.reason.description,
            WriteBehindField.deliveries, String(letter.deliveries),
        ]
        let moved = try await client.run(
            Self.deadLetterScript, keys: [streams.stream(partition: partition), streams.deadLetterStream(partition: partition)],
            arguments: arguments, as: Int.self)
        if moved == 1 {
            metrics.deadLettered(letter.reason, count: 1)
            configuration.logger.error(
                "write-behind entry moved to the dead letters",
                metadata: [
                    "partition": "\(partition)", "entry": "\(letter.id)", "reason": "\(letter.reason)",
                    "deliveries": "\(letter.deliveries)",
                ])
        }
    }
}
