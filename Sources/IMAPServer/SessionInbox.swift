import NIOCore
import Synchronization

/// The events of one session (input, ticks, mailbox changes, the drain), queued until the session
/// takes them. No task waits on a session that has nothing to do: the first event that finds it
/// idle starts its consumer, which takes events until the queue is empty and then ends.
///
/// Why: a task keeps the memory of the deepest call it ever made until it ends, and its frames,
/// its first slab and its task-local link were about 14 KiB of every IMAP session, spent on
/// sessions sitting in IDLE for hours. An idle session now holds its queue and nothing else.
final class SessionInbox: Sendable {
    /// Events beyond this many unread are dropped, oldest first. Input is bounded well below it by
    /// the channel handler, which reads the next command only when the session asks for it.
    static let capacity = 1024

    private struct State {
        var queue = CircularBuffer<SessionEvent>(initialCapacity: 2)
        var consumer: (@Sendable () -> Void)?
        /// A consumer was started and has not yet found the queue empty.
        var running = false
        var finished = false
        /// When the idle session's next timer may be due; nil: unknown, every tick wakes it.
        var wakeAt: ContinuousClock.Instant?
        /// A tick came while the consumer ran: it is the next event taken, ahead of the queue, so
        /// that a session kept busy by a stream of events still renews its slot and keeps its
        /// timers. Ticks coalesce: one pending at most.
        var tickPending = false
        /// Runs once the consumer a tick started finds the queue empty, or the session ends.
        var whenIdle: (@Sendable () -> Void)?
        /// After `finish`: what the drain does to a connection that outlives its session (a relay).
        var onShutdown: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Queues `event`; starts the consumer when the session was idle.
    func yield(_ event: SessionEvent) {
        let start: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.finished else {
                guard case .shutdown = event else { return nil }
                defer { state.onShutdown = nil }
                return state.onShutdown
            }
            if state.queue.count >= Self.capacity { state.queue.removeFirst() }
            state.queue.append(event)
            guard !state.running, let consumer = state.consumer else { return nil }
            state.running = true
            return consumer
        }
        start?()
    }

    /// Gives the queue to `consumer` and starts it once at once (the session's greeting), then
    /// whenever an event arrives while no consumer runs. At most one runs at a time: from its start
    /// until `next()` answers nil.
    func attach(_ consumer: @escaping @Sendable () -> Void) {
        let start: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.finished else { return nil }
            state.consumer = consumer
            guard !state.running else { return nil }
            state.running = true
            return consumer
        }
        start?()
    }

    /// The next event, or nil when none waits: the consumer must then return, and the next event
    /// starts it again. `idleUntil` is when the idle session wants its next tick.
    func next(idleUntil: ContinuousClock.Instant? = nil) -> SessionEvent? {
        let (event, whenIdle): (SessionEvent?, (@Sendable () -> Void)?) = state.withLock { state in
            if state.tickPending {
                state.tickPending = false
                return (.tick, nil)
            }
            if let event = state.queue.popFirst() { return (event, nil) }
            state.running = false
            state.wakeAt = idleUntil
            // A burst grew the queue; an idle session keeps a small one.
            if state.queue.capacity > 16 { state.queue = CircularBuffer(initialCapacity: 2) }
            defer { state.whenIdle = nil }
            return (nil, state.whenIdle)
        }
        whenIdle?()
        return event
    }

    /// A tick of the listener's ticker: given to an idle session whose next timer may be due by
    /// `now` (or to every session when `always`), and to a running one as its next event.
    /// Returns true when the tick started the session's consumer: `whenIdle` then runs once that
    /// consumer is done (it found the queue empty, or the session ended).
    @discardableResult
    func tick(now: ContinuousClock.Instant, always: Bool, whenIdle: (@Sendable () -> Void)? = nil) -> Bool {
        let start: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.finished else { return nil }
            if state.running {
                state.tickPending = true
                return nil
            }
            guard always || state.wakeAt.map({ $0 <= now }) ?? true else { return nil }
            if state.queue.count >= Self.capacity { state.queue.removeFirst() }
            state.queue.append(.tick)
            // Not attached yet: the tick waits for the consumer's first run.
            guard let consumer = state.consumer else { return nil }
            state.running = true
            state.whenIdle = whenIdle
            return consumer
        }
        start?()
        return start != nil
    }

    /// The session is over: events are dropped from now on, and the consumer is let go.
    /// `onShutdown` runs once when the node drains, at once if the drain began already (its
    /// event was still queued).
    func finish(onShutdown: (@Sendable () -> Void)? = nil) {
        let (whenIdle, drainNow) = state.withLock { state in
            state.finished = true
            let drained = state.queue.contains { if case .shutdown = $0 { true } else { false } }
            state.queue.removeAll()
            state.consumer = nil
            state.onShutdown = drained ? nil : onShutdown
            defer { state.whenIdle = nil }
            return (state.whenIdle, drained ? onShutdown : nil)
        }
        whenIdle?()
        drainNow?()
    }
}
