import NIOCore
import RESP

extension RedisConnection {
    /// The connection's protocol bookkeeping, free of I/O: which replies are owed to whom, which
    /// callers gave up, when the next deadline falls, and when the connection must be closed.
    ///
    /// Redis answers in order, so owed replies form a FIFO queue. A caller that times out or is
    /// cancelled is answered at once and its entry stays in the queue, marked abandoned, so the
    /// late reply is read and dropped instead of being handed to the next caller. An abandoned
    /// reply that never comes (past `abandonedReplyTimeout`) means the connection is broken.
    struct StateMachine: ~Copyable {
        typealias ReplyContinuation = UnsafeContinuation<RESPToken, any Error>
        typealias BatchContinuation = UnsafeContinuation<[RESPToken], any Error>

        /// Who receives the reply (or replies) of one queued request.
        enum Receiver {
            case single(ReplyContinuation)
            /// Several replies, gathered in `batchReplies` while the request is at the head.
            case batch(BatchContinuation)
        }

        struct Entry {
            let id: UInt64
            var repliesOwed: Int
            let deadline: NIODeadline
            var receiver: Receiver?
            var abandonedAt: NIODeadline?
        }

        /// A continuation to resume once the lock is released.
        enum Completion {
            case reply(ReplyContinuation, RESPToken)
            case batch(BatchContinuation, [RESPToken])
            case failReply(ReplyContinuation, RedisError)
            case failBatch(BatchContinuation, RedisError)
        }

        enum EnqueueAction {
            case none
            case scheduleFlush(armTimer: NIODeadline?)
            case armTimer(NIODeadline)
            case fail(RedisError)
        }

        private var entries = CircularBuffer<Entry>(initialCapacity: 64)
        /// The replies received so far for the batch at the head of the queue. Replies arrive in
        /// order, so only the head request can be receiving; keeping its array here rather than in
        /// its `Receiver` spares taking the array out of the enum and putting it back per reply.
        private var batchReplies: [RESPToken] = []
        private var encoder: RESPCommandEncoder
        private let allocator: ByteBufferAllocator
        private var flushScheduled = false
        private var armedTimer: NIODeadline?
        private(set) var closedError: RedisError?
        /// Set by a graceful close: refuse new requests, close once nothing is owed.
        private var draining = false
        let abandonedReplyTimeout: TimeAmount

        init(allocator: ByteBufferAllocator, abandonedReplyTimeout: TimeAmount) {
            self.allocator = allocator
            self.encoder = RESPCommandEncoder(buffer: allocator.buffer(capacity: 4096))
            self.abandonedReplyTimeout = abandonedReplyTimeout
        }

        /// When the last reply arrived; a server still answering is not judged broken.
        private var lastReplyAt: NIODeadline?

        /// Records that replies arrived at `now` (called once per read).
        mutating func noteReplyProgress(at now: NIODeadline) {
            lastReplyAt = now
        }

        /// Replies owed, including those for abandoned requests.
        var owedCount: Int { entries.count }

        /// Queues one request whose command bytes `encode` writes; returns what the shell must do.
        mutating func enqueue(
            id: UInt64, replies: Int, deadline: NIODeadline, receiver: Receiver,
            encode: (inout RESPCommandEncoder) -> Void
        ) -> EnqueueAction {
            if let closedError { return .fail(closedError) }
            if draining { return .fail(RedisError(.shutdown)) }
            encode(&encoder)
            entries.append(Entry(id: id, repliesOwed: replies, deadline: deadline, receiver: receiver))
            var timer: NIODeadline?
            if armedTimer == nil || deadline < armedTimer! {
                armedTimer = deadline
                timer = deadline
            }
            if !flushScheduled {
                flushScheduled = true
                return .scheduleFlush(armTimer: timer)
            }
            return timer.map { .armTimer($0) } ?? .none
        }

        /// Queues command bytes that get no reply of their own: in subscriber mode, a subscription
        /// command is answered by push frames that the pub/sub layer matches itself.
        mutating func enqueueWithoutReply(encode: (inout RESPCommandEncoder) -> Void) -> EnqueueAction {
            if let closedError { return .fail(closedError) }
            if draining { return .fail(RedisError(.shutdown)) }
            encode(&encoder)
            hasSentWithoutReply = true
            if !flushScheduled {
                flushScheduled = true
                return .scheduleFlush(armTimer: nil)
            }
            return .none
        }

        /// Hands the bytes queued since the last flush to the shell.
        mutating func takeOutbound() -> ByteBuffer? {
            flushScheduled = false
            guard encoder.buffer.readableBytes > 0, closedError == nil else { return nil }
            let bytes = encoder.buffer
            // The channel now owns `bytes`; writing on into it would copy, so start a fresh buffer.
            encoder.buffer = allocator.buffer(capacity: max(4096, bytes.readableBytes))
            return bytes
        }

        /// Starts a graceful close; returns true when nothing is owed and the channel can close now.
        mutating func startDraining() -> Bool {
            draining = true
            return entries.isEmpty
        }

        enum ReceiveResult {
            case delivered
            /// The last owed reply of a draining connection arrived: close it now.
            case drained
            /// A reply nobody asked for: the stream is out of step and must be closed.
            case unexpected
        }

        /// Whether a command that gets no reply of its own was ever sent (subscription commands).
        private(set) var hasSentWithoutReply = false

        /// Whether an error reply arriving now answers a command sent without a reply: one was
        /// sent, and no command is owed a reply.
        var expectsRefusal: Bool { hasSentWithoutReply && entries.isEmpty }

        /// Matches one reply (never a push frame) to the oldest owed request.
        mutating func received(_ token: consuming RESPToken, completions: inout [Completion]) -> ReceiveResult {
            guard !entries.isEmpty else { return .unexpected }
            let head = entries.startIndex
            let owed = entries[head].repliesOwed
            entries[head].repliesOwed = owed - 1
            let done = owed == 1
            switch entries[head].receiver {
            case .single(let continuation):
                completions.append(.reply(continuation, token))
            case .batch(let continuation):
                if batchReplies.isEmpty { batchReplies.reserveCapacity(owed) }
                batchReplies.append(token)
                if done {
                    completions.append(.batch(continuation, batchReplies))
                    batchReplies = []
                }
            case nil:
                // Abandoned: its replies are dropped, including any gathered before it was.
                if done, !batchReplies.isEmpty { batchReplies = [] }
            }
            if done { entries.removeFirst() }
            return draining && entries.isEmpty ? .drained : .delivered
        }

        /// Fails the request `id` with `error` (cancellation), keeping its slot for the late reply.
        mutating func abandon(id: UInt64, error: RedisError, now: NIODeadline) -> (Completion?, armTimer: NIODeadline?) {
            guard let index = entries.firstIndex(where: { $0.id == id }), let receiver = entries[index].receiver
            else { return (nil, nil) }
            entries[index].receiver = nil
            entries[index].abandonedAt = now
            let brokenAt = now + abandonedReplyTimeout
            var timer: NIODeadline?
            if armedTimer == nil || brokenAt < armedTimer! {
                armedTimer = brokenAt
                timer = brokenAt
            }
            return (Self.failure(receiver, error), timer)
        }

        enum TimerResult {
            case rearm(NIODeadline?)
            /// An abandoned reply is overdue: close the connection.
            case close(RedisError)
        }

        /// Expires requests whose deadline passed; decides whether the connection is broken.
        mutating func timerFired(at deadline: NIODeadline, now: NIODeadline, completions: inout [Completion]) -> TimerResult {
            if armedTimer == deadline { armedTimer = nil }
            guard closedError == nil else { return .rearm(nil) }
            var next: NIODeadline?
            for index in entries.indices where entries[index].abandonedAt == nil {
                guard let receiver = entries[index].receiver else { continue }
                if entries[index].deadline <= now {
                    entries[index].receiver = nil
                    entries[index].abandonedAt = now
                    completions.append(Self.failure(receiver, RedisError(.timeout)))
                } else {
                    next = min(next ?? entries[index].deadline, entries[index].deadline)
                }
            }
            // Only the oldest owed reply can be judged missing: a later one cannot overtake a slow
            // command ahead of it, and a reply that arrived recently shows the server is answering.
            if let head = entries.first, let abandonedAt = head.abandonedAt {
                let brokenAt = max(abandonedAt, lastReplyAt ?? abandonedAt) + abandonedReplyTimeout
                if brokenAt <= now {
                    return .close(RedisError(.connectionClosed, serverMessage: "reply overdue; connection judged broken"))
                }
                next = min(next ?? brokenAt, brokenAt)
            }
            guard let next else { return .rearm(nil) }
            if let armed = armedTimer, armed <= next { return .rearm(nil) }
            armedTimer = next
            return .rearm(next)
        }

        /// The connection is gone: fail everything owed and refuse new requests.
        mutating func closed(_ error: RedisError, completions: inout [Completion]) {
            guard closedError == nil else { return }
            closedError = error
            while let entry = entries.popFirst() {
                if let receiver = entry.receiver { completions.append(Self.failure(receiver, error)) }
            }
            batchReplies = []
            encoder.buffer.clear()
        }

        private static func failure(_ receiver: Receiver, _ error: RedisError) -> Completion {
            switch receiver {
            case .single(let continuation): .failReply(continuation, error)
            case .batch(let continuation): .failBatch(continuation, error)
            }
        }
    }
}

extension RedisConnection.StateMachine.Completion {
    /// Resumes the continuation. Call outside any lock.
    consuming func resume() {
        switch self {
        case .reply(let continuation, let token): continuation.resume(returning: token)
        case .batch(let continuation, let tokens): continuation.resume(returning: tokens)
        case .failReply(let continuation, let error): continuation.resume(throwing: error)
        case .failBatch(let continuation, let error): continuation.resume(throwing: error)
        }
    }
}
