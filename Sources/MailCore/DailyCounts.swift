/// Messages a grant received and sent in one UTC day, for the policy's daily limits.
public struct DailyCounts: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable {
        case received, sent
    }

    public var received: Int64
    public var sent: Int64

    public init(received: Int64 = 0, sent: Int64 = 0) {
        self.received = received
        self.sent = sent
    }

    public subscript(direction: Direction) -> Int64 {
        switch direction {
        case .received: received
        case .sent: sent
        }
    }
}

/// Days as the daily limits count them: they begin at 00:00 UTC.
public enum UTCDay {
    public static let seconds: Int64 = 86_400

    /// Days since 1970-01-01 (UTC) at `unixSeconds`.
    public static func number(at unixSeconds: Int64) -> Int64 {
        unixSeconds >= 0 ? unixSeconds / seconds : (unixSeconds - seconds + 1) / seconds
    }

    /// Seconds from `unixSeconds` to the next 00:00 UTC (at least 1), for `Retry-After`.
    public static func secondsToNext(from unixSeconds: Int64) -> Int64 {
        max(1, (number(at: unixSeconds) + 1) * seconds - unixSeconds)
    }
}
