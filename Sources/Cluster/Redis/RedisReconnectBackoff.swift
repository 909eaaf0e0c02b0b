/// Delays between reconnect attempts: doubling from ``initialDelay`` up to ``maximumDelay``.
///
/// Starting small makes a blip (a killed connection, a failover) nearly invisible; the cap keeps a
/// node that lost Redis for minutes from waiting long after it is back.
struct RedisReconnectBackoff: Sendable, Hashable {
    static let initialDelay: Duration = .milliseconds(50)
    static let maximumDelay: Duration = .seconds(2)

    private var upcoming: Duration = Self.initialDelay

    /// The delay before the next attempt; each call doubles the one after it, up to the cap.
    mutating func nextDelay() -> Duration {
        let delay = self.upcoming
        self.upcoming = min(delay * 2, Self.maximumDelay)
        return delay
    }

    /// Called after a successful connection: the next outage starts again from the initial delay.
    mutating func reset() {
        self.upcoming = Self.initialDelay
    }
}
