import NIOCore
import RESP
import Testing

@testable import Redis

typealias ConnectionMachine = RedisConnection.StateMachine
typealias PoolMachine = RedisConnectionPool.StateMachine

// MARK: Manual clock

/// The manual clock: the instant `milliseconds` after an arbitrary origin.
func ms(_ milliseconds: Int64) -> NIODeadline {
    .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
}

// MARK: RESP tokens

/// Decodes exactly one RESP value from its wire form, e.g. `"+OK\r\n"`.
func token(_ wire: String) throws -> RESPToken {
    var buffer = ByteBuffer(string: wire)
    var decoder = RESPTokenDecoder()
    let token = try #require(try decoder.decode(from: &buffer), "incomplete RESP: \(wire.debugDescription)")
    #expect(buffer.readableBytes == 0, "trailing bytes after \(wire.debugDescription)")
    return token
}

// MARK: Observing the connection machine

/// An `EnqueueAction`, comparable.
enum Enqueued: Equatable {
    case none
    case scheduleFlush(armTimer: NIODeadline?)
    case armTimer(NIODeadline)
    case fail(RedisError.Code)

    init(_ action: ConnectionMachine.EnqueueAction) {
        switch action {
        case .none: self = .none
        case .scheduleFlush(let timer): self = .scheduleFlush(armTimer: timer)
        case .armTimer(let timer): self = .armTimer(timer)
        case .fail(let error): self = .fail(error.code)
        }
    }
}

/// A `TimerResult`, comparable.
enum Fired: Equatable {
    case rearm(NIODeadline?)
    case close(RedisError.Code)

    init(_ result: ConnectionMachine.TimerResult) {
        switch result {
        case .rearm(let next): self = .rearm(next)
        case .close(let error): self = .close(error.code)
        }
    }
}

/// A `Completion` the machine asked the shell to resume, comparable.
enum Resumed: Equatable {
    case reply(RESPToken)
    case batch([RESPToken])
    case failReply(RedisError.Code)
    case failBatch(RedisError.Code)

    init(_ completion: ConnectionMachine.Completion) {
        switch completion {
        case .reply(_, let token): self = .reply(token)
        case .batch(_, let tokens): self = .batch(tokens)
        case .failReply(_, let error): self = .failReply(error.code)
        case .failBatch(_, let error): self = .failBatch(error.code)
        }
    }
}

/// Resumes every completion as the shell does (outside any lock) and empties the list; returns
/// what was resumed, in order.
func settle(_ completions: inout [ConnectionMachine.Completion]) -> [Resumed] {
    let observed = completions.map(Resumed.init)
    for completion in completions { completion.resume() }
    completions.removeAll()
    return observed
}

/// A task suspended on a real continuation, the way `RedisConnection.sendToken` and `sendBatch`
/// wait; ``receiver`` is what goes into the machine and ``outcome`` is what the task finally got.
struct Caller {
    enum Outcome: Equatable, Sendable {
        case reply(RESPToken)
        case batch([RESPToken])
        case failed(RedisError.Code)
        case thrownNonRedisError
    }

    let receiver: ConnectionMachine.Receiver
    private let task: Task<Outcome, Never>

    /// Waits for the continuation to be resumed. Only await callers whose completion was settled.
    var outcome: Outcome { get async { await task.value } }

    /// Fails the caller directly, as the shell does when `enqueue` returns `.fail`.
    func refuse(_ error: RedisError) {
        switch receiver {
        case .single(let continuation): continuation.resume(throwing: error)
        case .batch(let continuation): continuation.resume(throwing: error)
        }
    }

    /// A caller expecting one reply.
    static func single() async -> Caller {
        let (continuation, task) = await suspended { Outcome.reply($0) }
        return Caller(receiver: .single(continuation), task: task)
    }

    /// A caller expecting the replies of a batch.
    static func batch() async -> Caller {
        let (continuation, task) = await suspended { Outcome.batch($0) }
        return Caller(receiver: .batch(continuation), task: task)
    }

    private static func suspended<Value: Sendable>(
        _ success: @escaping @Sendable (Value) -> Outcome
    ) async -> (UnsafeContinuation<Value, any Error>, Task<Outcome, Never>) {
        let (handOut, handIn) = AsyncStream.makeStream(of: UnsafeContinuation<Value, any Error>.self)
        let task = Task<Outcome, Never> {
            do {
                let value = try await withUnsafeThrowingContinuation { continuation in
                    handIn.yield(continuation)
                    handIn.finish()
                }
                return success(value)
            } catch let error as RedisError {
                return .failed(error.code)
            } catch {
                return .thrownNonRedisError
            }
        }
        for await continuation in handOut { return (continuation, task) }
        preconditionFailure("the caller task ended without suspending")
    }
}

extension RedisConnection.StateMachine {
    /// Queues one `GET key<id>` (or a batch of `replies` of them) for `caller`.
    mutating func send(
        _ id: UInt64, replies: Int = 1, deadline: NIODeadline, from caller: Caller
    ) -> Enqueued {
        Enqueued(
            enqueue(id: id, replies: replies, deadline: deadline, receiver: caller.receiver) { encoder in
                for _ in 0..<replies { encoder.encode("GET", "key\(id)") }
            }
        )
    }

    /// Delivers one reply; returns the result and the completions it produced (already resumed).
    mutating func receive(_ token: RESPToken) -> (ReceiveResult, [Resumed]) {
        var completions: [Completion] = []
        let result = received(token, completions: &completions)
        return (result, settle(&completions))
    }

    /// Fires the timer armed for `deadline` at `now`; returns the result and the resumed completions.
    mutating func fire(_ deadline: NIODeadline, now: NIODeadline) -> (Fired, [Resumed]) {
        var completions: [Completion] = []
        let result = timerFired(at: deadline, now: now, completions: &completions)
        return (Fired(result), settle(&completions))
    }

    /// Cancels request `id` at `now`; returns the resumed completion (if any) and the timer to arm.
    mutating func cancel(_ id: UInt64, now: NIODeadline) -> (Resumed?, armTimer: NIODeadline?) {
        let (completion, timer) = abandon(id: id, error: RedisError(.cancelled), now: now)
        completion?.resume()
        return (completion.map(Resumed.init), timer)
    }

    /// The channel closed with `code`; returns the resumed completions.
    mutating func close(_ code: RedisError.Code) -> [Resumed] {
        var completions: [Completion] = []
        closed(RedisError(code), completions: &completions)
        return settle(&completions)
    }

    /// The bytes `takeOutbound()` hands to the channel, as a string.
    mutating func flushed() -> String? {
        takeOutbound().map { String(buffer: $0) }
    }
}

/// The wire form of `GET key<id>`, as `send` encodes it.
func getCommand(_ id: UInt64) -> String {
    let key = "key\(id)"
    return "*2\r\n$3\r\nGET\r\n$\(key.utf8.count)\r\n\(key)\r\n"
}

// MARK: Pool machine

/// A pool machine with small, round numbers; tests override what they exercise.
func makePool(
    minimum: Int = 0, maximum: Int = 4, inFlight: Int = 2,
    idleTimeout: TimeAmount = .seconds(60), keepAlive: TimeAmount? = nil,
    initialBackoff: TimeAmount = .milliseconds(100), maximumBackoff: TimeAmount = .seconds(1),
    breakerThreshold: Int = 3, breakerOpen: TimeAmount = .seconds(5)
) -> PoolMachine {
    PoolMachine(
        configuration: RedisPoolConfiguration(
            minimumConnections: minimum, maximumConnections: maximum, maximumInFlightPerConnection: inFlight,
            idleTimeout: idleTimeout, keepAliveInterval: keepAlive, initialBackoff: initialBackoff,
            maximumBackoff: maximumBackoff, breakerFailureThreshold: breakerThreshold,
            breakerOpenDuration: breakerOpen
        )
    )
}

extension RedisConnectionPool.StateMachine {
    /// Start-up as the pool's maintenance loop does it: one connect at a time, up to the minimum,
    /// every attempt succeeding at `now`. Returns the connections that came up.
    mutating func startUp(at now: NIODeadline) -> [Int] {
        var ready: [Int] = []
        while true {
            let actions = tick(now: now)
            guard actions.count == 1, case .connect(let id) = actions[0] else {
                #expect(actions == [])
                return ready
            }
            #expect(connected(id, now: now) == [])
            ready.append(id)
        }
    }
}

/// Whether `actual` holds exactly `expected`, in any order (actions decided by walking a
/// dictionary of connections come out in no particular order).
func sameActions(_ actual: [PoolMachine.Action], _ expected: [PoolMachine.Action]) -> Bool {
    var remaining = actual
    for action in expected {
        guard let index = remaining.firstIndex(of: action) else { return false }
        remaining.remove(at: index)
    }
    return remaining.isEmpty
}
