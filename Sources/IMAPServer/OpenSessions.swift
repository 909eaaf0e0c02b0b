import Synchronization

/// A listener's open sessions and the tasks they run: sessions run in tasks of their own only
/// while they have events (`SessionInbox`), so no task group holds them. The listener waits here
/// for the last one to end when it drains, and once its drain time is over, cancels the tasks
/// still running (a session stops at its next step and closes its connection) and waits no more.
final class OpenSessions: Sendable {
    private struct State {
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var running: [Int: Task<Void, Never>] = [:]
        /// Tasks that ended before `run` could record them.
        var endedUnrecorded: Set<Int> = []
        var nextTask = 0
        var cancelled = false
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

    /// Runs `body` in a task of its own, cancelled if the drain time ends while it runs.
    func run(_ body: @escaping @Sendable () async -> Void) {
        let key = state.withLock { state in
            defer { state.nextTask += 1 }
            return state.nextTask
        }
        let task = Task {
            await body()
            self.taskEnded(key)
        }
        let cancel = state.withLock { state -> Bool in
            if state.endedUnrecorded.remove(key) != nil { return false }
            state.running[key] = task
            return state.cancelled
        }
        if cancel { task.cancel() }
    }

    private func taskEnded(_ key: Int) {
        state.withLock { state in
            if state.running.removeValue(forKey: key) == nil { state.endedUnrecorded.insert(key) }
        }
    }

    /// Returns once no session is open, or when the waiting task is cancelled (the node's drain
    /// time is over): then the sessions' running tasks are cancelled too.
    func allClosed() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.open == 0 || state.cancelled { return true }
                    state.waiters.append(waiter)
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            let (waiters, tasks) = state.withLock { state -> ([CheckedContinuation<Void, Never>], [Task<Void, Never>]) in
                state.cancelled = true
                defer { state.waiters = [] }
                return (state.waiters, Array(state.running.values))
            }
            for task in tasks { task.cancel() }
            for waiter in waiters { waiter.resume() }
        }
    }
}
