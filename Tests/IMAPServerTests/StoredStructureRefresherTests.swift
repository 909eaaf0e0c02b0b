@testable import IMAPServer
import PostgresNIO
import Storage
import Testing
import TestSupport

/// Messages stored under an older reading of MIME get their IMAP structures rendered again from
/// their bytes, so that ENVELOPE and BODYSTRUCTURE agree with the parts BODY[n] finds.
@Suite struct StoredStructureRefresherTests {
    @Test func staleStructuresAreRenderedAgainFromTheStoredBytes() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            // A line that is no field: the header still runs to the blank line (version 2).
            try await client.append("""
                From: Ann <ann@example.test>
                Not a field line
                Subject: after the junk
                Message-ID: <stale-structure@example.test>

                Body.
                """)
            // As a version 1 row would have it: the header ended at the junk line.
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { postgres in
                _ = try await postgres.query("""
                    UPDATE message_contents SET structure_version = 1,
                           envelope = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)', body_structure = 'stale', body = 'stale'
                    WHERE grant_id = \(account.grant.id.rawValue)::uuid
                    """, logger: TestEnvironment.logger)
            }
            let store = try #require(nodes.contexts[0].store as? PostgresMailStore)
            #expect(try await store.staleStructures(after: nil, limit: 100_000).contains { $0.grant == account.grant.id })
            let refreshed = try await StoredStructureRefresher(store: store, batchSize: 2, logger: TestEnvironment.logger).refreshAll()
            #expect(refreshed >= 1)
            #expect(try await !store.staleStructures(after: nil, limit: 100_000).contains { $0.grant == account.grant.id })
            try await client.run(selectInbox(exists: 1, recent: 1))
            try await client.run("""
                C: f FETCH 1 (ENVELOPE BODY)
                S: * 1 FETCH (ENVELOPE (NIL "after the junk" (("Ann" NIL "ann" "example.test")) (("Ann" NIL "ann" "example.test")) (("Ann" NIL "ann" "example.test")) NIL NIL NIL NIL "<stale-structure@example.test>") BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0))
                S: f OK FETCH completed
                """)
            await client.close()
        }
    }
}
