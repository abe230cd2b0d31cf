public import NIOCore

/// A Swift concurrency `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A task that prefers this executor (`withTaskExecutorPreference(client.taskExecutor) { ... }`)
/// runs on the same thread as the client's connections, so a round trip needs no thread
/// handoffs: the command is written and the reply resumes the task on that thread (about one
/// context switch per round trip instead of three). Whether that lowers latency depends on the
/// machine — sleeping in `epoll` can cost more than a handoff between two awake threads — so
/// measure (`strata bench client` has a `c1 event-loop` row). Code that does heavy CPU work
/// should stay on the default executor: it would delay every connection on that loop.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Runs `job` on the event loop, after work already queued there.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
