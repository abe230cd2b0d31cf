import ServiceLifecycle

/// Runs `body` now and then every `interval` until the task is cancelled or the service group
/// shuts down gracefully: the loop shared by the small reporting services of this module.
///
/// A shutdown or cancellation during the pause ends the loop without waiting for the interval.
func runPeriodically(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    // `cancelWhenGracefulShutdown` turns a graceful shutdown into cancellation of the loop only.
    _ = try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await body()
            try await Task.sleep(for: interval)
        }
    }
}
