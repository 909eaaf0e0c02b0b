import Dispatch
import Synchronization
import Testing
@testable import Storage

@Suite struct DeadlineTests {
    @Test func anAnswerInTimeIsReturned() async throws {
        let value = try await withDeadline(.seconds(30), what: "Postgres") { 42 }
        #expect(value == 42)
    }

    /// A body that would wait for an hour (as a request waits for a pooled connection to a
    /// Postgres that is down) is cancelled when the deadline passes, and the caller learns why.
    @Test func aBodyThatDoesNotAnswerIsCancelledAtTheDeadline() async throws {
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(20), what: "Postgres") { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    @Test func theBodysOwnErrorComesOutUnchanged() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(30), what: "Postgres") { () async throws -> Int in throw Refused() }
        }
    }

    @Test func cancellingTheCallerCancelsTheBody() async throws {
        let caller = Task { try await withDeadline(.seconds(3600), what: "Postgres") { try await Task.sleep(for: .seconds(3600)) } }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }

    /// A body that ignores its cancellation (as a postgres-nio query written to a connection that
    /// had closed: never answered, never failed) is given up after the grace, while it still runs.
    @Test func aBodyThatIgnoresItsCancellationIsAbandonedAfterTheGrace() async throws {
        let ended = Mutex(false)
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(20), what: "Postgres", abandonAfter: .milliseconds(50)) {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { continuation.resume() }
                }
                ended.withLock { $0 = true }
            }
        }
        #expect(ended.withLock { $0 } == false)
    }

    /// A body that still answers after its cancellation, within the grace, gives its answer: the
    /// work was done.
    @Test func anAnswerWithinTheGraceAfterTheDeadlineIsReturned() async throws {
        let value = try await withDeadline(.milliseconds(20), what: "Postgres", abandonAfter: .seconds(3600)) {
            try? await Task.sleep(for: .seconds(3600))
            return 1
        }
        #expect(value == 1)
    }

    /// A caller cancelled (a node draining) does not wait longer than the grace for a body that
    /// ignores its cancellation either.
    @Test func aCancelledCallerGivesUpABodyThatIgnoresItsCancellation() async throws {
        let ended = Mutex(false)
        let caller = Task {
            try await withDeadline(.seconds(3600), what: "Postgres", abandonAfter: .milliseconds(50)) {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { continuation.resume() }
                }
                ended.withLock { $0 = true }
            }
        }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ended.withLock { $0 } == false)
    }

    /// A caller cancelled before the deadline learns of its cancellation, not of the deadline,
    /// even when the deadline passes while the body is being given up.
    @Test func aCancelledCallerIsToldItWasCancelledEvenPastTheDeadline() async throws {
        let caller = Task {
            try await withDeadline(.milliseconds(20), what: "Postgres", abandonAfter: .milliseconds(200)) {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { continuation.resume() }
                }
            }
        }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }
}
