/// Where a session reads the time for its protocol timers (autologout, IDLE's limit and
/// keepalives, polling the change log). Nodes use the system's monotonic clock; tests set the time
/// themselves and deliver the timer ticks, so that a 30-minute IDLE limit is tested without waiting.
public struct SessionClock: Sendable {
    public let now: @Sendable () -> ContinuousClock.Instant

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.now = now
    }

    public static let system = SessionClock { ContinuousClock.now }
}
