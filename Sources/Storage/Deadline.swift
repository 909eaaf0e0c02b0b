import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Metrics

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
/// timer fires it cancels the body, which gives up its wait for a pooled connection at once, and
/// the caller gets the body's end (normally within a round trip).
///
/// A body that ignores its cancellation is not waited for longer than `abandonAfter` beyond the
/// deadline, or beyond the caller's own cancellation (a node that drains): postgres-nio's `PostgresClient` can lend a connection that closes before the query is
/// written (Postgres restarted at that moment), and such a query is never answered, nor failed, nor
/// cancellable. Waiting for it hung the caller for good: a node's webhook fan-out, its health probe,
/// and its drain. Such a body is left to itself (it holds its connection's lease until the process
/// ends), counted in `mailnode_calls_abandoned_total{what}` and logged by the caller's error.
public func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, abandonAfter: Duration = deadlineAbandonGrace,
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let ending = DeadlineEnding<Result>()
    let work = Task {
        do {
            ending.finish(.success(try await body()))
        } catch {
            ending.finish(.failure(error))
        }
    }
    // Whichever comes first, the body's end or the timer, decides: a body that failed on its own
    // just before the timer fired reports its own error, not a timeout.
    let outcome = NIOLockedValueBox(DeadlineOutcome.running)
    let loop = MultiThreadedEventLoopGroup.singleton.any()
    let abandon = NIOLockedValueBox<Scheduled<Void>?>(nil)
    // Cancels the body, and gives it up if it has not ended `abandonAfter` later.
    let giveUp: @Sendable (_ error: any Error) -> Void = { error in
        work.cancel()
        let later = loop.scheduleTask(in: .nanoseconds(abandonAfter.nanoseconds)) {
            if ending.finish(.failure(error)) {
                Counter(label: "mailnode_calls_abandoned_total", dimensions: [("what", what)]).increment()
            }
        }
        abandon.withLockedValue { previous in
            if previous == nil { previous = later } else { later.cancel() }
        }
    }
    let timer = loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
        let expired = outcome.withLockedValue { state -> Bool in
            guard state == .running else { return false }
            state = .expired
            return true
        }
        if expired { giveUp(DeadlineExceeded(what: what)) }
    }
    defer {
        timer.cancel()
        abandon.withLockedValue { $0?.cancel() }
    }
    do {
        let value = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { ending.wait(with: $0) }
        } onCancel: {
            giveUp(CancellationError())
        }
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

/// How long past its deadline, and its cancellation, a call is still waited for.
public let deadlineAbandonGrace: Duration = .seconds(5)

/// The end of a call under a deadline, given to its caller once: the body's result, or the
/// deadline's abandonment, whichever comes first, before or after the caller began to wait.
private final class DeadlineEnding<Result: Sendable>: Sendable {
    private enum State {
        case waiting
        case ended(Swift.Result<Result, any Error>)
        case awaited(CheckedContinuation<Result, any Error>)
        case done
    }

    private let state = NIOLockedValueBox(State.waiting)

    /// Returns false when the call had already ended.
    @discardableResult
    func finish(_ result: Swift.Result<Result, any Error>) -> Bool {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Result, any Error>?? in
            switch state {
            case .waiting:
                state = .ended(result)
                return .some(nil)
            case .awaited(let continuation):
                state = .done
                return .some(continuation)
            case .ended, .done:
                return nil
            }
        }
        guard let continuation else { return false }
        continuation?.resume(with: result)
        return true
    }

    func wait(with continuation: CheckedContinuation<Result, any Error>) {
        let ended = state.withLockedValue { state -> Swift.Result<Result, any Error>? in
            switch state {
            case .waiting:
                state = .awaited(continuation)
                return nil
            case .ended(let result):
                state = .done
                return result
            case .awaited, .done:
                preconditionFailure("a call under a deadline is awaited once")
            }
        }
        if let ended { continuation.resume(with: ended) }
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
