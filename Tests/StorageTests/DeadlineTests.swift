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
}
