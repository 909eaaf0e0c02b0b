@testable import IMAPServer
import Synchronization
import Testing

/// The listener's line to its sessions: ticks on the interval, and the drain's `.shutdown` for
/// every session, including one that registers after the drain began.
@Suite struct SessionTickerTests {
    /// A session's inbox whose events come out of a stream, in order.
    private func stream() -> (AsyncStream<SessionEvent>, SessionInbox) {
        let (events, sink) = AsyncStream<SessionEvent>.makeStream()
        let inbox = SessionInbox()
        inbox.attach {
            while let event = inbox.next() { sink.yield(event) }
        }
        return (events, inbox)
    }

    @Test func everyRegisteredSessionGetsTicksUntilItLeaves() async {
        let ticker = SessionTicker()
        let (first, firstSink) = stream(), (second, secondSink) = stream()
        ticker.register(1, firstSink)
        ticker.register(2, secondSink)
        let ticking = Task { await ticker.run(every: .milliseconds(5)) }
        defer { ticking.cancel() }
        var firstEvents = first.makeAsyncIterator(), secondEvents = second.makeAsyncIterator()
        guard case .tick = await firstEvents.next() else { Issue.record("no tick for the first session"); return }
        guard case .tick = await secondEvents.next() else { Issue.record("no tick for the second session"); return }
        ticker.unregister(2)
        // Three more ticks of the first session: any tick already on its way to the second one
        // has arrived. Between two markers sent after that, the second session sees no tick.
        func nextTicks(_ count: Int) async -> Bool {
            for _ in 0..<count {
                guard case .tick = await firstEvents.next() else { return false }
            }
            return true
        }
        #expect(await nextTicks(3))
        secondSink.yield(.closed)
        #expect(await nextTicks(3))
        secondSink.yield(.credentialsChanged)
        while let event = await secondEvents.next() {
            if case .closed = event { break }
        }
        guard case .credentialsChanged = await secondEvents.next() else { Issue.record("a session that left still got ticks"); return }
    }

    @Test func theDrainReachesSessionsRegisteredBeforeAndAfterIt() async {
        let ticker = SessionTicker()
        let (early, earlySink) = stream(), (late, lateSink) = stream()
        ticker.register(1, earlySink)
        ticker.shutDown()
        ticker.register(2, lateSink)
        var earlyEvents = early.makeAsyncIterator(), lateEvents = late.makeAsyncIterator()
        guard case .shutdown = await earlyEvents.next() else { Issue.record("no shutdown for the early session"); return }
        guard case .shutdown = await lateEvents.next() else { Issue.record("no shutdown for the late session"); return }
    }

    /// Sessions that come due together do their timers' work at most `concurrentTicks` at a
    /// time, and every one of them gets its tick.
    @Test(.timeLimit(.minutes(1))) func dueSessionsWorkOnTheirTicksAFewAtATime() async {
        let ticker = SessionTicker()
        let sessions = 5 * SessionTicker.concurrentTicks
        let tally = Tally()
        let (done, doneSink) = AsyncStream<Int>.makeStream()
        let (settled, settledSink) = AsyncStream<Void>.makeStream()
        for id in 0..<sessions {
            let inbox = SessionInbox()
            let firstRun = FirstRun()
            inbox.attach {
                Task {
                    while let event = inbox.next() {
                        guard case .tick = event else { continue }
                        tally.began()
                        await Task.yield()
                        tally.ended()
                        doneSink.yield(id)
                    }
                    // The first run (at attach) found nothing: the session is idle, and every
                    // tick from now on starts it.
                    if firstRun.isNow() { settledSink.yield() }
                }
            }
            ticker.register(id, inbox)
        }
        var idle = 0
        for await _ in settled {
            idle += 1
            if idle == sessions { break }
        }
        let ticking = Task { await ticker.run(every: .milliseconds(5), patience: .seconds(3600)) }
        defer { ticking.cancel() }
        var ticked = Set<Int>()
        for await id in done {
            ticked.insert(id)
            if ticked.count == sessions { break }
        }
        #expect(tally.mostAtOnce <= SessionTicker.concurrentTicks)
        #expect(tally.mostAtOnce >= 1)
    }

    private final class FirstRun: Sendable {
        private let passed = Atomic<Bool>(false)
        func isNow() -> Bool { !passed.exchange(true, ordering: .relaxed) }
    }

    private final class Tally: Sendable {
        private let working = Atomic<Int>(0), most = Atomic<Int>(0)
        var mostAtOnce: Int { most.load(ordering: .relaxed) }
        func began() { most.max(working.add(1, ordering: .relaxed).newValue, ordering: .relaxed) }
        func ended() { working.subtract(1, ordering: .relaxed) }
    }
}
