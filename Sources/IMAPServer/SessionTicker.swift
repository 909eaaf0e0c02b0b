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

    /// At most this many sessions do the work of their timers at once (renewing a connection
    /// slot, checking credentials, polling in IDLE). Sessions that logged in together come due
    /// together: woken all at once, thousands of them each held a task's memory while waiting
    /// for Redis or Postgres, and the heap kept the high-water mark (measured: 21 KiB more per
    /// idle session a few seconds after 3,000 had logged in).
    static let concurrentTicks = 64

    private let ticking = Atomic<Int>(0)

    /// Sessions whose tick is being worked on now.
    var ticksUnderWay: Int { ticking.load(ordering: .relaxed) }

    /// Ticks until the task is cancelled: every `interval`, each session whose next timer may be
    /// due by `now()` (each session at all while `everySession()` says so) gets `.tick`, no more
    /// than `concurrentTicks` at once. A round that has waited for room for `patience` (half the
    /// interval unless given) ticks the rest of its sessions without waiting: a slow or stalled
    /// Redis, or sessions stuck writing to clients that do not read, must not hold back every
    /// session's timers.
    func run(every interval: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
             everySession: @escaping @Sendable () -> Bool = { false }, patience: Duration? = nil) async {
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            let sinks = registry.withLock { Array($0.sinks.values) }
            // A timer is reset when its tick is taken, a little after this one was read: without
            // the slack, each would come due just after the tick that should take it.
            let instant = now() + interval / 2, always = everySession()
            let roundEnds = ContinuousClock.now + (patience ?? interval / 2)
            var bounded = true
            for sink in sinks {
                if bounded { bounded = await waitForRoom(until: roundEnds) }
                ticking.add(1, ordering: .relaxed)
                let started = sink.tick(now: instant, always: always) { [self] in
                    ticking.subtract(1, ordering: .relaxed)
                }
                if !started { ticking.subtract(1, ordering: .relaxed) }
            }
        }
    }

    /// Waits until fewer than `concurrentTicks` sessions work on a tick; false when `deadline`
    /// came first. Checked every millisecond: a session's tick work is a round trip or two, so
    /// room comes within one.
    private func waitForRoom(until deadline: ContinuousClock.Instant) async -> Bool {
        while ticking.load(ordering: .relaxed) >= Self.concurrentTicks {
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(1))) != nil else { return false }
        }
        return true
    }
}
