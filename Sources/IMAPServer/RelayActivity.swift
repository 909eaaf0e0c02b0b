import NIOCore
import Synchronization

/// Where a relay stands between its client and its upstream session: who spoke last, whether
/// the upstream's last bytes answered the client's last command, and how many relayed chunks are
/// still being written. Both sides of a relay update it from their event loops.
final class RelayActivity: Sendable {
    private struct State {
        var lastMoved = NIODeadline.now()
        /// True at the start: the relay begins right after the LOGIN's answer.
        var upstreamSpokeLast = true
        var answered = true
        var clientTag: [UInt8] = []
        var pendingWrites = 0
    }

    private let state = Mutex(State())

    /// The client sent bytes; `command` is the tag of the command line they ended with, if any (a
    /// continuation such as an APPEND's literal or IDLE's DONE keeps the command's tag).
    func clientSent(command: [UInt8]?) {
        state.withLock { state in
            state.lastMoved = .now()
            state.upstreamSpokeLast = false
            state.answered = false
            if let command { state.clientTag = command }
        }
    }

    /// The upstream sent bytes; `answering` is the tag of the tagged response they ended with, if any.
    func upstreamSent(answering tag: [UInt8]?) {
        state.withLock { state in
            state.lastMoved = .now()
            state.upstreamSpokeLast = true
            state.answered = tag != nil && tag == state.clientTag
        }
    }

    func writeStarted() {
        state.withLock { $0.pendingWrites += 1 }
    }

    func writeEnded() {
        state.withLock { $0.pendingWrites -= 1 }
    }

    /// Closing now cuts nothing: the upstream spoke last, everything relayed is written, and
    /// nothing moved for `afterAnswer` since its answer to the client's last command, or for
    /// `quiet` since anything else it sent.
    func isBetweenExchanges(quiet: TimeAmount, afterAnswer: TimeAmount) -> Bool {
        state.withLock { state in
            guard state.upstreamSpokeLast, state.pendingWrites == 0 else { return false }
            let still = NIODeadline.now() - state.lastMoved
            return still >= (state.answered ? afterAnswer : quiet)
        }
    }
}
