import Synchronization

/// How many sessions of a listener are open, and a wait for the last one to end: sessions run in
/// tasks of their own only while they have events (`SessionInbox`), so no task group holds them
/// and the listener waits on this count when it drains.
final class OpenSessions: Sendable {
    private struct State {
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func opened() {
        state.withLock { $0.open += 1 }
    }

    func closed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open -= 1
            guard state.open == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no session is open, or when the waiting task is cancelled (the node's drain
    /// time is over).
    func allClosed() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.open == 0 || Task.isCancelled { return true }
                    state.waiters.append(waiter)
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}
