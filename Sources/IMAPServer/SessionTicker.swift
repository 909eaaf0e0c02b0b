import Synchronization

/// The listener's line to all of its sessions: each session registers its inbox, gets
/// `.tick` every `interval`, and `.shutdown` when the node drains. A node may hold tens of
/// thousands of idle sessions; one timer and one shutdown hook for all of them cost less memory
/// and fewer wake-ups than a task, a timer and a handler each.
final class SessionTicker: Sendable {
    private struct Registry {
        var sinks: [Int: SessionInbox] = [:]
        var shuttingDown = false
    }

    private let registry = Mutex(Registry())

    /// A session registered after the shutdown began hears of it at once.
    func register(_ id: Int, _ sink: SessionInbox) {
        let late = registry.withLock { registry in
            registry.sinks[id] = sink
            return registry.shuttingDown
        }
        if late { sink.yield(.shutdown) }
    }

    func unregister(_ id: Int) {
        _ = registry.withLock { $0.sinks.removeValue(forKey: id) }
    }

    /// Tells every session, now and later, that the node is draining.
    func shutDown() {
        let all = registry.withLock { registry in
            registry.shuttingDown = true
            return Array(registry.sinks.values)
        }
        for sink in all { sink.yield(.shutdown) }
    }

    /// Ticks until the task is cancelled: every `interval`, each session whose next timer may be
    /// due by `now()` (each session at all while `everySession()` says so) gets `.tick`.
    func run(every interval: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
             everySession: @escaping @Sendable () -> Bool = { false }) async {
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            let sinks = registry.withLock { Array($0.sinks.values) }
            // A timer is reset when its tick is taken, a little after this one was read: without
            // the slack, each would come due just after the tick that should take it.
            let instant = now() + interval / 2, always = everySession()
            for sink in sinks { sink.tick(now: instant, always: always) }
        }
    }
}
