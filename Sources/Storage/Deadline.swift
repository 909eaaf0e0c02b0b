import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Thrown when a backend did not answer in time.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public let what: String
    public var description: String { "\(what) did not answer in time" }
}

/// Runs `body` and gives up after `timeout`: a Postgres that is down must make a request fail
/// fast (and the router fall back), not hang it while the pool keeps retrying.
///
/// Every store call passes through here, so it is kept cheap: one child task and one timer on an
/// event loop (a timer wheel entry, not a sleeping task and a dispatch timer per call). When the
/// timer fires it cancels the body, which gives up its wait for a pooled connection at once.
public func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let work = Task { try await body() }
    // Whichever comes first, the body's end or the timer, decides: a body that failed on its own
    // just before the timer fired reports its own error, not a timeout.
    let outcome = NIOLockedValueBox(DeadlineOutcome.running)
    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
        let expired = outcome.withLockedValue { state -> Bool in
            guard state == .running else { return false }
            state = .expired
            return true
        }
        if expired { work.cancel() }
    }
    defer { timer.cancel() }
    do {
        let value = try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
        outcome.withLockedValue { if $0 == .running { $0 = .finished } }
        return value
    } catch {
        let expired = outcome.withLockedValue { state -> Bool in
            if state == .running { state = .finished }
            return state == .expired
        }
        if expired { throw DeadlineExceeded(what: what) }
        throw error
    }
}

private enum DeadlineOutcome: Sendable {
    case running, finished, expired
}

extension Duration {
    /// The whole duration in nanoseconds, saturating far beyond any timeout.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow || overflowAgain ? .max : total
    }
}
