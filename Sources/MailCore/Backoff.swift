/// Exponential backoff with jitter: the wait after `n` consecutive failures is `initial · 2^(n-1)`,
/// capped, moved by up to 25 % either way so that many retries that failed together do not come
/// back in lockstep.
public struct Backoff: Hashable, Sendable {
    public var initialMilliseconds: Int64
    public var maximumMilliseconds: Int64

    public init(initialMilliseconds: Int64, maximumMilliseconds: Int64) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// `jitter` in -1...1 (random by default); 0 after no failure.
    public func delayMilliseconds(afterFailures failures: Int, jitter: Double = Double.random(in: -1...1)) -> Int64 {
        guard failures > 0 else { return 0 }
        let base = min(maximumMilliseconds, initialMilliseconds << Int64(min(failures - 1, 30)))
        return max(1, base + Int64(Double(base) * 0.25 * max(-1, min(1, jitter))))
    }
}
