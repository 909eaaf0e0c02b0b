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
/// the caller gets the body's end (normally within a round trip). A body that answers after its
/// deadline, within the grace, gives its answer: the work was done.
///
/// A body that ignores its cancellation is not waited for longer than `abandonAfter` beyond the
/// deadline, or beyond the caller's own cancellation (a node that drains): postgres-nio's
/// `PostgresClient` can lend a connection that closes before the query is written (Postgres
/// restarted at that moment), and such a query is never answered, nor failed, nor cancellable.
/// Waiting for it hung the caller for good: a node's webhook fan-out, its health probe, and its
/// drain. Such a body is left to itself (it keeps its task, and its lease), counted in
/// `mailnode_calls_abandoned_total{what}`; the caller gets `DeadlineExceeded`, or
/// `CancellationError` when it was cancelled itself.
public func withDeadline<Result: Sendable>(
    _ timeout: Duration, what: String, abandonAfter: Duration = deadlineAbandonGrace,
    _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let call = DeadlineCall<Result>(what: what, abandonAfter: abandonAfter, loop: MultiThreadedEventLoopGroup.singleton.any())
    let work = Task {
        do {
            call.bodyEnded(.success(try await body()))
        } catch {
            call.bodyEnded(.failure(error))
        }
    }
    call.work = work
    let timer = call.loop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { call.expire() }
    defer {
        timer.cancel()
        call.close()
    }
    do {
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { call.wait(with: $0) }
        } onCancel: {
            call.cancel()
        }
    } catch {
        // Whichever came first decides: a body that failed on its own before the timer fired
        // reports its own error, one cut by the deadline reports the deadline.
        switch call.phase {
        case .expired: throw DeadlineExceeded(what: what)
        case .cancelled: throw CancellationError()
        case .running, .finished: throw error
        }
    }
}

/// How long past its deadline, and its cancellation, a call is still waited for.
public let deadlineAbandonGrace: Duration = .seconds(5)

/// One call under a deadline. Its end is given to the caller once: the body's result, or its
/// abandonment, whichever comes first, before or after the caller began to wait.
private final class DeadlineCall<Result: Sendable>: @unchecked Sendable {
    // Everything below `lock` is read and written under it; `work` is set once before the timer
    // and the caller's cancellation handler can use it.
    enum Phase { case running, finished, expired, cancelled }

    let what: String
    let abandonAfter: Duration
    let loop: any EventLoop
    var work: Task<Void, Never>?

    private let lock = NIOLock()
    private var currentPhase = Phase.running
    private var ended: Swift.Result<Result, any Error>?
    private var continuation: UnsafeContinuation<Result, any Error>?
    private var delivered = false
    private var giveUpTimer: Scheduled<Void>?
    private var closed = false

    init(what: String, abandonAfter: Duration, loop: any EventLoop) {
        self.what = what
        self.abandonAfter = abandonAfter
        self.loop = loop
    }

    var phase: Phase { lock.withLock { currentPhase } }

    func bodyEnded(_ result: Swift.Result<Result, any Error>) {
        lock.withLock { if currentPhase == .running { currentPhase = .finished } }
        deliver(result)
    }

    func wait(with continuation: UnsafeContinuation<Result, any Error>) {
        let result: Swift.Result<Result, any Error>? = lock.withLock {
            if let ended {
                delivered = true
                return ended
            }
            self.continuation = continuation
            return nil
        }
        if let result { continuation.resume(with: result) }
    }

    func expire() {
        let expired = lock.withLock {
            guard currentPhase == .running else { return false }
            currentPhase = .expired
            return true
        }
        if expired { giveUp(DeadlineExceeded(what: what)) }
    }

    func cancel() {
        lock.withLock { if currentPhase == .running { currentPhase = .cancelled } }
        giveUp(CancellationError())
    }

    /// The call returned: a give-up still pending has nothing left to do.
    func close() {
        let pending: Scheduled<Void>? = lock.withLock {
            closed = true
            defer { giveUpTimer = nil }
            return giveUpTimer
        }
        pending?.cancel()
    }

    /// Cancels the body, and gives it up if it has not ended `abandonAfter` later.
    private func giveUp(_ error: any Error) {
        work?.cancel()
        let later = loop.scheduleTask(in: .nanoseconds(abandonAfter.nanoseconds)) { [self] in
            if deliver(.failure(error)) {
                Counter(label: "mailnode_calls_abandoned_total", dimensions: [("what", what)]).increment()
            }
        }
        let kept = lock.withLock {
            guard !closed, giveUpTimer == nil else { return false }
            giveUpTimer = later
            return true
        }
        if !kept { later.cancel() }
    }

    /// Gives the caller `result` unless it has its end already; false then.
    @discardableResult
    private func deliver(_ result: Swift.Result<Result, any Error>) -> Bool {
        let waiting: UnsafeContinuation<Result, any Error>?? = lock.withLock {
            guard !delivered, ended == nil else { return nil }
            guard let continuation else {
                ended = result
                return .some(nil)
            }
            delivered = true
            self.continuation = nil
            return .some(continuation)
        }
        guard let waiting else { return false }
        waiting?.resume(with: result)
        return true
    }
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
