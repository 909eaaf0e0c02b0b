/// Publishing: https://redis.io/docs/latest/commands/publish/
///
/// Receiving needs a connection of its own in subscribed mode: see ``RedisSubscriber``.
extension RedisClient {
    /// `PUBLISH channel message`: how many subscribers (on this server) received it.
    @discardableResult
    public func publish(_ channel: String, message: String) async throws -> Int {
        try await self.publish(channel, message: Array(message.utf8))
    }

    /// `PUBLISH channel message` with a binary payload.
    @discardableResult
    public func publish(_ channel: String, message: [UInt8]) async throws -> Int {
        try await Int(self.send([Array("PUBLISH".utf8), Array(channel.utf8), message]).requireInteger(for: "PUBLISH"))
    }
}
