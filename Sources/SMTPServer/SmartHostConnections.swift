import MailCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Storage

/// One delivery handed to a smart-host connection, and its answer.
final class SmartHostRequest: Sendable {
    enum Outcome: Sendable {
        case delivered([String: RecipientOutcome])
        /// A kept connection turned out closed before the smart host answered MAIL: run it again.
        case staleConnection
        case failed(any Error)
    }

    private struct State {
        var completion: CheckedContinuation<Outcome, Never>?
        var channel: (any Channel)?
        var cancelled = false
        var finished = false
    }

    let sender: String
    let recipients: [String]
    let message: [UInt8]
    private let state = NIOLockedValueBox(State())

    init(sender: String, recipients: [String], message: [UInt8]) {
        self.sender = sender
        self.recipients = recipients
        self.message = message
    }

    func start(_ completion: CheckedContinuation<Outcome, Never>) {
        state.withLockedValue { $0.completion = completion }
    }

    /// The connection now carrying the request: closed at once if the delivery was given up.
    func attach(_ channel: any Channel) {
        let cancelled = state.withLockedValue { state in
            state.channel = channel
            return state.cancelled
        }
        if cancelled { channel.close(promise: nil) }
    }

    /// The delivery ran out of time: its connection closes, which ends the transaction's wait. Once
    /// the request is answered its connection may carry the next delivery, and stays open.
    func cancel() {
        let channel = state.withLockedValue { state -> (any Channel)? in
            guard !state.finished else { return nil }
            state.cancelled = true
            return state.channel
        }
        channel?.close(promise: nil)
    }

    var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    /// Answers the delivery; later calls do nothing.
    func finish(_ outcome: Outcome) {
        let completion = state.withLockedValue { state in
            defer {
                state.completion = nil
                state.channel = nil
                state.finished = true
            }
            return state.completion
        }
        completion?.resume(returning: outcome)
    }
}

/// Connections to the smart host waiting for their next delivery. A connection parks itself after a
/// transaction and gets either a request or, after its idle time, nothing (then it says QUIT).
final class SmartHostIdleConnections: Sendable {
    private struct Parked {
        let id: Int
        let handOver: CheckedContinuation<SmartHostRequest?, Never>
        var expiry: Scheduled<Void>?
    }

    private struct State {
        var nextID = 0
        var parked: [Parked] = []
    }

    private let state = NIOLockedValueBox(State())

    /// The idle time is a timer on an event loop, cancelled when a request takes the connection:
    /// a sleeping task per delivery would leave thousands of dispatch timers behind under load.
    func park(for idleTime: Duration) async -> SmartHostRequest? {
        await withCheckedContinuation { handOver in
            let id = state.withLockedValue { state in
                state.nextID += 1
                state.parked.append(Parked(id: state.nextID, handOver: handOver))
                return state.nextID
            }
            let expiry = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(idleTime.nanoseconds)) {
                self.expire(id)
            }
            let taken = state.withLockedValue { state in
                guard let index = state.parked.firstIndex(where: { $0.id == id }) else { return true }
                state.parked[index].expiry = expiry
                return false
            }
            if taken { expiry.cancel() }
        }
    }

    /// The most recently parked connection's hand-over, removed from the waiting ones.
    func take() -> CheckedContinuation<SmartHostRequest?, Never>? {
        let parked = state.withLockedValue { $0.parked.popLast() }
        parked?.expiry?.cancel()
        return parked?.handOver
    }

    private func expire(_ id: Int) {
        let handOver = state.withLockedValue { state -> CheckedContinuation<SmartHostRequest?, Never>? in
            guard let index = state.parked.firstIndex(where: { $0.id == id }) else { return nil }
            return state.parked.remove(at: index).handOver
        }
        handOver?.resume(returning: nil)
    }
}
