@testable import IMAPServer
import Synchronization
import Testing

/// A session's inbox: events in order, one consumer at a time, and ticks only for an idle
/// session whose next timer may be due.
@Suite struct SessionInboxTests {
    /// Counts the consumer's starts and keeps what it took.
    private final class Taker: Sendable {
        let taken = Mutex<[String]>([])
        let starts = Mutex(0)
        /// When the session it plays wants its next tick.
        let idleUntil: ContinuousClock.Instant?

        init(idleUntil: ContinuousClock.Instant? = nil) {
            self.idleUntil = idleUntil
        }

        func attach(to inbox: SessionInbox) {
            inbox.attach { [self] in
                starts.withLock { $0 += 1 }
                while let event = inbox.next(idleUntil: idleUntil) { taken.withLock { $0.append(Self.name(event)) } }
            }
        }

        static func name(_ event: SessionEvent) -> String {
            switch event {
            case .tick: "tick"
            case .closed: "closed"
            case .shutdown: "shutdown"
            case .credentialsChanged: "credentials"
            case .mailboxChanged(let folder, _): "changed \(folder ?? "-")"
            case .input: "input"
            }
        }
    }

    @Test func eventsBeforeTheConsumerWaitForIt() {
        let inbox = SessionInbox(), taker = Taker()
        inbox.yield(.mailboxChanged(folderID: "a", modseq: 1))
        inbox.yield(.credentialsChanged)
        taker.attach(to: inbox)
        #expect(taker.taken.withLock { $0 } == ["changed a", "credentials"])
        #expect(taker.starts.withLock { $0 } == 1)
    }

    @Test func anIdleSessionIsStartedByItsNextEventOnly() {
        let inbox = SessionInbox(), taker = Taker()
        taker.attach(to: inbox)
        #expect(taker.starts.withLock { $0 } == 1)
        inbox.yield(.mailboxChanged(folderID: "a", modseq: 2))
        inbox.yield(.closed)
        #expect(taker.taken.withLock { $0 } == ["changed a", "closed"])
        #expect(taker.starts.withLock { $0 } == 3)
    }

    @Test func aRunningConsumerTakesWhatArrivesMeanwhileWithoutASecondStart() {
        let inbox = SessionInbox()
        let starts = Mutex(0)
        // The consumer is started but has not yet taken anything, as when its task is scheduled.
        inbox.attach { starts.withLock { $0 += 1 } }
        inbox.yield(.tick)
        inbox.yield(.closed)
        #expect(starts.withLock { $0 } == 1)
        var taken: [String] = []
        while let event = inbox.next() { taken.append(Taker.name(event)) }
        #expect(taken == ["tick", "closed"])
        inbox.yield(.shutdown)
        #expect(starts.withLock { $0 } == 2)
    }

    @Test func ticksReachAnIdleSessionFromItsNextTimerOn() {
        let now = ContinuousClock.now
        let inbox = SessionInbox(), taker = Taker(idleUntil: now + .seconds(60))
        taker.attach(to: inbox)
        inbox.tick(now: now + .seconds(59), always: false)
        #expect(taker.taken.withLock { $0 } == [])
        inbox.tick(now: now + .seconds(59), always: true)
        inbox.tick(now: now + .seconds(60), always: false)
        #expect(taker.taken.withLock { $0 } == ["tick", "tick"])
    }

    @Test func aTickWhileTheConsumerRunsIsItsNextEventOnce() {
        let inbox = SessionInbox()
        inbox.attach { }
        inbox.yield(.mailboxChanged(folderID: "a", modseq: 1))
        inbox.yield(.mailboxChanged(folderID: "b", modseq: 2))
        #expect(inbox.next().map(Taker.name) == "changed a")
        // The session is busy: its ticks wait, coalesced, ahead of what else is queued.
        inbox.tick(now: .now, always: false)
        inbox.tick(now: .now, always: false)
        var taken: [String] = []
        while let event = inbox.next() { taken.append(Taker.name(event)) }
        #expect(taken == ["tick", "changed b"])
    }

    /// The ticker learns when the work a tick started is done: when the consumer finds the queue
    /// empty, or when the session ends; a tick that started nothing reports so at once.
    @Test func aTickThatStartsTheConsumerSaysWhenItIsDone() {
        let inbox = SessionInbox()
        inbox.attach { }
        while inbox.next() != nil {}
        let done = Mutex(0)
        #expect(inbox.tick(now: .now, always: true) { done.withLock { $0 += 1 } })
        inbox.yield(.closed)
        #expect(inbox.next().map(Taker.name) == "tick")
        #expect(inbox.next().map(Taker.name) == "closed")
        #expect(done.withLock { $0 } == 0, "the consumer has not yet found the queue empty")
        #expect(inbox.next() == nil)
        #expect(done.withLock { $0 } == 1)
        // Busy: the tick waits for the running consumer, and starts nothing.
        inbox.yield(.closed)
        #expect(!inbox.tick(now: .now, always: true) { done.withLock { $0 += 100 } })
        while inbox.next() != nil {}
        #expect(done.withLock { $0 } == 1)
        // Ended while working on the tick.
        #expect(inbox.tick(now: .now, always: true) { done.withLock { $0 += 1 } })
        inbox.finish()
        #expect(done.withLock { $0 } == 2)
    }

    @Test func aFinishedInboxDropsEverything() {
        let inbox = SessionInbox(), taker = Taker()
        taker.attach(to: inbox)
        inbox.finish()
        inbox.yield(.closed)
        inbox.tick(now: .now, always: true)
        #expect(taker.taken.withLock { $0 } == [])
        #expect(taker.starts.withLock { $0 } == 1)
    }

    @Test func theQueueKeepsTheNewestEventsBeyondItsCapacity() {
        let inbox = SessionInbox()
        inbox.attach { }
        for index in 0..<(SessionInbox.capacity + 5) { inbox.yield(.mailboxChanged(folderID: "\(index)", modseq: 1)) }
        var taken: [String] = []
        while let event = inbox.next() { taken.append(Taker.name(event)) }
        #expect(taken.count == SessionInbox.capacity)
        #expect(taken.first == "changed 5")
    }

    @Test func aFinishedSessionsDrainHookRunsOnceOnShutdownAndForNothingElse() {
        let inbox = SessionInbox(), taker = Taker()
        taker.attach(to: inbox)
        let drained = Mutex(0)
        inbox.finish(onShutdown: { drained.withLock { $0 += 1 } })
        inbox.yield(.tick)
        inbox.yield(.mailboxChanged(folderID: "a", modseq: 3))
        inbox.tick(now: .now, always: true)
        #expect(drained.withLock { $0 } == 0)
        inbox.yield(.shutdown)
        inbox.yield(.shutdown)
        #expect(drained.withLock { $0 } == 1)
        #expect(taker.taken.withLock { $0 }.isEmpty)
    }

    @Test func aDrainThatBeganBeforeTheSessionFinishedRunsTheHookAtOnce() {
        let inbox = SessionInbox()
        // The drain's event arrived while the session was busy (relaying its LOGIN): still queued.
        inbox.yield(.shutdown)
        let drained = Mutex(0)
        inbox.finish(onShutdown: { drained.withLock { $0 += 1 } })
        #expect(drained.withLock { $0 } == 1)
        inbox.yield(.shutdown)
        #expect(drained.withLock { $0 } == 1)
    }

    @Test func aSessionFinishedWithoutAHookIgnoresTheDrain() {
        let inbox = SessionInbox(), taker = Taker()
        taker.attach(to: inbox)
        inbox.finish()
        inbox.yield(.shutdown)
        #expect(taker.taken.withLock { $0 }.isEmpty)
    }
}
