extension RedisConnection {
    /// Runs `body` with this connection, then closes the connection however `body` ends.
    ///
    /// For short-lived connections opened by tools and dedicated-connection helpers; the error
    /// type of `body` passes through unchanged.
    public func closing<Result, Failure: Error>(
        _ body: (RedisConnection) async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        do {
            let result = try await body(self)
            await close()
            return result
        } catch {
            await close()
            throw error
        }
    }
}
