import MailCore
import PostgresNIO
import TestSupport
import Testing
@testable import Storage

/// A `\Recent` claim is the one write that does not wait for its commit to reach the disk: the
/// transaction of a read that claims runs with `synchronous_commit` off; one that finds nothing to
/// claim leaves the server's setting as it is.
@Suite struct RecentClaimCommitTests {
    @Test func onlyAClaimCommitsWithoutWaitingForTheDisk() async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let logger = TestEnvironment.logger
            let grant = Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("recent"))!, region: Region(rawValue: "us")!,
                              appPasswordHash: nil, createdAt: 1_767_225_600, updatedAt: 1_767_225_600)
            let grants = PostgresGrantStore(client: client, logger: logger)
            _ = try await grants.createGrant(grant)
            let store = PostgresMailStore(client: client, logger: logger, defaultQuotaBytes: 1 << 30)
            let message = TestMessage(messageID: "recent-\(ObjectIDGenerator.random())@example.test")
            _ = try await store.append(grant: grant.id, folderID: SystemFolder.inbox.apiID, messages: [
                NewMessage(raw: message.raw, facts: message.facts, flags: .empty, internalDate: 1_767_225_600),
            ])
            let query = PostgresMailStore.changesClaimingRecentQuery(grant: grant.id, folderID: SystemFolder.inbox.apiID, since: 0)
            try await client.withConnection { connection in
                for (expected, what) in [("off", "a read that claims a message"), ("on", "a read with nothing left to claim")] {
                    let (claimed, mode) = try await connection.withTransaction(logger: logger) { transaction -> (Bool, String) in
                        var claimed = false
                        for try await row in try await transaction.run(PostgresMailStore.ChangesClaimingRecentStatement.self, query,
                                                                       logger: logger) {
                            if try row.decode((Int32, Int64, Int64, Int64?, String?, [String]?, Int64?).self).0 == 3 { claimed = true }
                        }
                        var mode = ""
                        for try await value in try await transaction.query("SHOW synchronous_commit", logger: logger).decode(String.self) {
                            mode = value
                        }
                        return (claimed, mode)
                    }
                    #expect(claimed == (expected == "off") && mode == expected, "\(what): claimed \(claimed), synchronous_commit \(mode)")
                }
            }
            _ = try await grants.deleteGrant(id: grant.id)
        }
    }
}
