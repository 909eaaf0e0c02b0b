/// Thrown when a backend did not answer in time.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public let what: String
    public var description: String { "\(what) did not answer in time" }
}

/// Runs `body` and gives up after `timeout`: a Postgres that is down must make a request fail
/// fast (and the router fall back), not hang it while the pool keeps retrying.
public func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlineExceeded(what: what) }
        return value
    }
}
