public import Hummingbird
public import Strata

extension RouterMethods {
    /// Adds a `GET` (and `HEAD`) readiness probe at `path`: `503 Service Unavailable` until
    /// `readiness` is marked ready (for example by a `CacheWarmingService` after its warm), then
    /// `200 OK`; it flips back if the readiness does.
    ///
    /// ```swift
    /// let readiness = CacheReadiness()
    /// router.addReadinessRoute(path: "/ready", readiness: readiness)
    /// ```
    ///
    /// The answer is one atomic load, never cached (`Cache-Control: no-store`), with a short text
    /// body for humans. Point the load balancer's or orchestrator's readiness check at it, not the
    /// liveness check: a warming instance is alive.
    @discardableResult
    public func addReadinessRoute(path: RouterPath = "/ready", readiness: CacheReadiness) -> Self {
        let respond: @Sendable (Request, Context) async throws -> Response = { _, _ in
            let ready = readiness.isReady
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.cacheControl: "no-store", .contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "warming\n")))
        }
        get(path, use: respond)
        head(path, use: respond)
        return self
    }
}
