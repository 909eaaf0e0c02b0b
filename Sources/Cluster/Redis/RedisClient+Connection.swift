/// Connection commands: https://redis.io/docs/latest/commands/?group=connection
extension RedisClient {
    /// `PING`: `PONG` when the server is reachable, which makes it the readiness probe.
    @discardableResult
    public func ping() async throws -> String {
        try await self.send(["PING"]).string ?? ""
    }
}
