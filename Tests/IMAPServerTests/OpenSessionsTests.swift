@testable import IMAPServer
import Testing

/// The listener's count of open sessions: its drain waits for the last one, and once the drain
/// time is over, the sessions' running tasks are cancelled and the wait ends.
@Suite struct OpenSessionsTests {
    @Test func theWaitEndsWhenTheLastSessionCloses() async {
        let sessions = OpenSessions()
        sessions.opened()
        sessions.opened()
        let waiting = Task { await sessions.allClosed() }
        sessions.closed()
        sessions.closed()
        await waiting.value
        // With none open, the wait ends at once.
        await sessions.allClosed()
    }

    @Test func aCancelledWaitCancelsTheRunningTasksAndReturns() async {
        let sessions = OpenSessions()
        sessions.opened()
        let (started, startedSink) = AsyncStream<Void>.makeStream()
        let (stopped, stoppedSink) = AsyncStream<Bool>.makeStream()
        sessions.run {
            startedSink.finish()
            // Ends when cancelled: the sleep throws at once then.
            let slept = (try? await Task.sleep(for: .seconds(3600))) != nil
            stoppedSink.yield(!slept && Task.isCancelled)
            stoppedSink.finish()
        }
        for await _ in started {}
        let waiting = Task { await sessions.allClosed() }
        waiting.cancel()
        await waiting.value
        var iterator = stopped.makeAsyncIterator()
        #expect(await iterator.next() == true)
    }
}
