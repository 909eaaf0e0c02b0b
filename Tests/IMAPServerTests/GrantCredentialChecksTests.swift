@testable import IMAPServer
import MailCore
import Testing

/// Sessions of one grant share a fresh credentials read; a stale or failed one is not shared.
@Suite struct GrantCredentialChecksTests {
    actor Reads {
        var count = 0
        func next(_ grant: Grant?) -> Grant? {
            count += 1
            return grant
        }
    }

    struct ReadFailed: Error {}

    static let grant = Grant(id: .random(), email: EmailAddress("checks@example.test")!, region: Region(rawValue: "us")!,
                             appPasswordHash: nil, credentialsVersion: 3, createdAt: 0, updatedAt: 0)

    @Test func aFreshReadIsSharedAndAStaleOneIsRepeated() async throws {
        let checks = GrantCredentialChecks(freshness: .seconds(10))
        let reads = Reads()
        let start = ContinuousClock.now
        let first = try await checks.grant(Self.grant.id, now: start) { await reads.next(Self.grant) }
        let shared = try await checks.grant(Self.grant.id, now: start + .seconds(9)) { await reads.next(nil) }
        #expect(first?.credentialsVersion == 3 && shared?.credentialsVersion == 3)
        #expect(await reads.count == 1)
        let again = try await checks.grant(Self.grant.id, now: start + .seconds(10)) { await reads.next(nil) }
        #expect(again == nil, "a deleted grant reads as nil")
        #expect(await reads.count == 2)
    }

    @Test func concurrentChecksShareOneRead() async throws {
        let checks = GrantCredentialChecks()
        let reads = Reads()
        let now = ContinuousClock.now
        let versions = try await withThrowingTaskGroup(of: Int64?.self) { group in
            for _ in 0..<19 {
                group.addTask { try await checks.grant(Self.grant.id, now: now) { await reads.next(Self.grant) }?.credentialsVersion }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(versions == Array(repeating: 3, count: 19))
        #expect(await reads.count == 1)
    }

    @Test func aFailedReadIsNotRemembered() async throws {
        let checks = GrantCredentialChecks()
        let reads = Reads()
        let now = ContinuousClock.now
        await #expect(throws: ReadFailed.self) {
            _ = try await checks.grant(Self.grant.id, now: now) { throw ReadFailed() }
        }
        let read = try await checks.grant(Self.grant.id, now: now) { await reads.next(Self.grant) }
        let count = await reads.count
        #expect(read != nil && count == 1)
    }

    @Test func staleEntriesAreDroppedAsTheTableGrows() async throws {
        let checks = GrantCredentialChecks(freshness: .seconds(10))
        let start = ContinuousClock.now
        for _ in 0..<1024 {
            _ = try await checks.grant(.random(), now: start) { nil }
        }
        #expect(checks.count == 1024)
        _ = try await checks.grant(.random(), now: start + .seconds(11)) { nil }
        #expect(checks.count == 1, "the one entry past the bound drops the stale ones")
        for _ in 0..<1500 {
            _ = try await checks.grant(.random(), now: start + .seconds(11)) { nil }
        }
        #expect(checks.count == 1501, "fresh entries are kept")
    }
}
