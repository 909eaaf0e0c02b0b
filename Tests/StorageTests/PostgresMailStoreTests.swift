import Logging
import MailCore
import PostgresNIO
import _ConnectionPoolModule
@testable import Storage
import TestSupport
import Testing

/// The mail store behaviour suite on Postgres: "node 2" is a second client with its own pool.
@Suite struct PostgresMailStoreTests {
    static let defaultQuota: Int64 = 1 << 30

    static func withHarness(_ body: @escaping @Sendable (MailStoreHarness) async throws -> Void) async throws {
        let url = try TestEnvironment.postgresURL()
        try await TestEnvironment.withPostgres(url: url) { client in
            try await TestEnvironment.keepEveryEvent(client)
            try await TestEnvironment.withPostgres(url: url) { otherClient in
                try await TestEnvironment.withPool(url: url) { pool in
                    let notifier = RecordingNotifier()
                    let grants = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
                    // "Node 1" leases from a pool of its own, as a serving node does; "node 2" goes through the client.
                    let harness = MailStoreHarness(
                        store: PostgresMailStore(client: client, pool: pool, logger: TestEnvironment.logger, defaultQuotaBytes: defaultQuota,
                                                 notifier: notifier),
                        otherNode: PostgresMailStore(client: otherClient, logger: TestEnvironment.logger, defaultQuotaBytes: defaultQuota),
                        makeGrant: {
                            let grant = Grant(id: .random(), email: EmailAddress(TestEnvironment.uniqueEmail("mail"))!,
                                              region: Region(rawValue: "us")!, appPasswordHash: nil,
                                              createdAt: WallClock.unixSeconds(), updatedAt: WallClock.unixSeconds())
                            return try await grants.createGrant(grant).id
                        },
                        events: { grant in
                            var events: [RecordedEvent] = []
                            let rows = try await client.query(
                                "SELECT type, object_id FROM event_outbox WHERE grant_id = \(grant.rawValue)::uuid ORDER BY id")
                            for try await (type, id) in rows.decode((String, String).self) { events.append(RecordedEvent(type: type, objectID: id)) }
                            return events
                        },
                        notifier: notifier,
                        defaultQuota: defaultQuota)
                    try await body(harness)
                }
            }
        }
    }

    @Test(arguments: MailStoreBehaviour.all.map(\.0))
    func behaviour(_ name: String) async throws {
        let test = try #require(MailStoreBehaviour.all.first { $0.0 == name }?.1)
        try await Self.withHarness(test)
    }

    /// Message events carry the folder and flags of their moment (the object is rendered when sent)
    /// and the columns the webhook dispatcher claims by.
    @Test func eventRowsCarryTheMessagesFolderAndFlags() async throws {
        try await Self.withHarness { h in
            let grant = try await h.makeGrant()
            let appended = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage(messageID: "payload@example.test"),
                                                                flags: [MessageFlags.flagged])
            let url = try TestEnvironment.postgresURL()
            try await TestEnvironment.withPostgres(url: url) { client in
                let rows = try await client.query(
                    """
                    SELECT object_id, payload->>'folder_id', payload->'flags'->>0, jsonb_array_length(payload->'flags'),
                           (SELECT count(*) FROM jsonb_object_keys(payload)), state, attempts
                    FROM event_outbox WHERE grant_id = \(grant.rawValue)::uuid AND type = 'message.created'
                    """)
                var seen = 0
                for try await (id, folder, flag, flagCount, keys, state, attempts)
                    in rows.decode((String, String, String, Int, Int, String, Int32).self) {
                    seen += 1
                    #expect(id == appended.messageID && folder == "inbox" && flag == "\\Flagged" && flagCount == 1 && keys == 2)
                    #expect(state == "pending" && attempts == 0)
                }
                #expect(seen == 1)
            }
        }
    }

    /// An APPEND asked to claim \Recent claims what it stores only when no earlier message is
    /// unclaimed (migration 34); a node not yet upgraded calls the function without the new
    /// argument and claims nothing.
    @Test func anAppendClaimsRecentOnlyWhenNothingBeforeItIsUnclaimed() async throws {
        try await Self.withHarness { h in
            let grant = try await h.makeGrant()
            let message = TestMessage()
            func append(claiming: Bool) async throws -> AppendResult {
                try await h.store.append(grant: grant, folderID: "inbox", messages: [
                    NewMessage(raw: message.raw, facts: message.facts, flags: .empty, internalDate: 1_767_225_600),
                ], claimingRecent: claiming)[0]
            }
            let unasked = try await append(claiming: false)
            #expect(!unasked.claimedRecent)
            // The first message is unclaimed: a claim now would pass over it, so none is made.
            let refused = try await append(claiming: true)
            #expect(!refused.claimedRecent && refused.uid == unasked.uid + 1)
            #expect(try await h.store.recentCount(grant: grant, folderID: "inbox") == 2)
            _ = try await h.store.claimRecent(grant: grant, folderID: "inbox", through: refused.uid)
            let claimed = try await append(claiming: true)
            #expect(claimed.claimedRecent)
            #expect(try await h.store.recentCount(grant: grant, folderID: "inbox") == 0)
            let bounded = message.facts.bounded
            let facts = FactsJSON.array(of: [FactsJSON(bounded, participants: try ParticipantJSON(bounded), flags: .empty,
                                                       internalDate: 1_767_225_600, exemptFromQuota: false)])
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                // The call of migration 33's nodes: seven arguments, six columns.
                let rows = try await client.query(
                    """
                    SELECT r_uid, r_deduplicated FROM mail_append(\(grant.rawValue)::text::uuid, 'inbox', 0::bigint, 1000000000::bigint,
                        0::bigint, \([ByteBuffer(bytes: message.raw)])::bytea[], \(facts)::text::jsonb)
                    """)
                var uids: [Int64] = []
                for try await (uid, deduplicated) in rows.decode((Int64, Bool).self) {
                    uids.append(uid)
                    #expect(!deduplicated)
                }
                #expect(uids == [claimed.uid + 1])
            }
            #expect(try await h.store.recentCount(grant: grant, folderID: "inbox") == 1)
        }
    }

    /// Deleting a grant takes its messages, contents and tombstones along.
    @Test func deletingAGrantDeletesItsMail() async throws {
        try await Self.withHarness { h in
            let grant = try await h.makeGrant()
            try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage(messageID: "gone@example.test"),
                                                flags: [MessageFlags.deleted])
            _ = try await h.store.expunge(grant: grant, folderID: "inbox", uids: nil)
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                let grants = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
                #expect(try await grants.deleteGrant(id: grant))
                for table in ["messages", "message_contents", "expunged_messages", "folders"] {
                    let rows = try await client.query("SELECT count(*) FROM \(unescaped: table) WHERE grant_id = \(grant.rawValue)::uuid")
                    for try await count in rows.decode(Int.self) { #expect(count == 0, "\(table)") }
                }
            }
        }
    }

    /// Expunges older than the window are forgotten, and the folder says from which modseq down
    /// its list of expunges may be incomplete (RFC 7162 3.2.5.2); newer ones stay exact.
    @Test func expungesOlderThanTheWindowAreForgottenBehindAHorizon() async throws {
        try await Self.withHarness { h in
            let store = try #require(h.store as? PostgresMailStore)
            let grant = try await h.makeGrant()
            let old = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage(), flags: [MessageFlags.deleted])
            let first = try await h.store.expunge(grant: grant, folderID: "inbox", uids: nil)
            let firstModseq = try #require(first.modseq)
            #expect(first.expunged == [old.uid])
            let recent = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage(), flags: [MessageFlags.deleted])
            let second = try await h.store.expunge(grant: grant, folderID: "inbox", uids: nil)
            #expect(second.expunged == [recent.uid])
            var before = try await h.store.changes(grant: grant, folderID: "inbox", since: 0)
            #expect(before.expunged == [old.uid, recent.uid] && before.vanishedHorizon == 0)
            // The first expunge happened long ago; only rows this old are touched by the prune.
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                try await client.query(
                    "UPDATE expunged_messages SET expunged_at = 1000 WHERE grant_id = \(grant.rawValue)::uuid AND uid = \(old.uid)")
            }
            // Another test's prune may take this grant's row first; pruners wait for each other, so
            // it is gone once this call returns either way.
            let now = WallClock.unixSeconds()
            _ = try await store.pruneExpungeTombstones(writtenBefore: now - 3600, limit: 100_000)
            before = try await h.store.changes(grant: grant, folderID: "inbox", since: 0)
            #expect(before.expunged == [recent.uid])
            #expect(before.vanishedHorizon == firstModseq)
            // Trash got the expunged messages with no expunge of its own: its horizon stays.
            #expect(try await h.store.changes(grant: grant, folderID: "trash", since: 0).vanishedHorizon == 0)
            // Nothing left that old: a second prune forgets nothing of this grant and keeps the horizon.
            _ = try await store.pruneExpungeTombstones(writtenBefore: now - 3600, limit: 100_000)
            let after = try await h.store.changes(grant: grant, folderID: "inbox", since: firstModseq)
            #expect(after.expunged == [recent.uid] && after.vanishedHorizon == firstModseq)
        }
    }

    /// A STORE of one UID reads the message's flags before it takes the grant's lock. When another
    /// writer changes them in between, the write of what it read finds them changed, reads them
    /// again under the lock and merges into those (migration 41): nothing the other writer set is
    /// lost, and the counters follow the flags actually replaced.
    @Test func aStoreWhoseFirstReadWentStaleMergesIntoTheFlagsUnderTheLock() async throws {
        try await Self.withHarness { h in
            let grant = try await h.makeGrant()
            let stored = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage())
            let before = try #require(try await h.store.folder(grant: grant, id: "inbox"))
            let url = try TestEnvironment.postgresURL()
            try await TestEnvironment.withPostgres(url: url) { client in
                try await client.withConnection { other in
                    let logger = TestEnvironment.logger
                    try await other.query("BEGIN", logger: logger)
                    try await other.query("SELECT 1 FROM grants WHERE id = \(grant.rawValue)::uuid FOR UPDATE", logger: logger)
                    try await other.query(
                        """
                        UPDATE messages SET flags = ARRAY['Project', '\\Seen']
                        WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = 'inbox' AND uid = \(stored.uid)
                        """, logger: logger)
                    async let flagged = h.store.storeFlags(grant: grant, folderID: "inbox", uids: UIDSet(uids: [stored.uid]),
                                                           operation: .add([MessageFlags.flagged]), unchangedSince: nil)
                    #expect(try await TestEnvironment.waitUntilBlocked(by: other, queryContaining: "mail_store_flags", asking: client))
                    try await other.query("COMMIT", logger: logger)
                    let result = try await flagged
                    #expect(result.changed.map(\.uid) == [stored.uid])
                    #expect(result.changed.first?.flags == ["Project", "\\Flagged", "\\Seen"])
                }
            }
            let snapshot = try await h.store.snapshot(grant: grant, folderID: "inbox")
            #expect(snapshot.messages.map(\.flags) == [["Project", "\\Flagged", "\\Seen"]])
            let after = try #require(try await h.store.folder(grant: grant, id: "inbox"))
            #expect(after.unseenCount == before.unseenCount - 1)
        }
    }

    /// RFC 8514: the save date is when the message came into its folder: stored, copied or moved.
    @Test func aMoveGivesTheMessageANewSaveDate() async throws {
        try await Self.withHarness { h in
            let grant = try await h.makeGrant()
            let stored = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage())
            let copied = try await MailStoreBehaviour.append(h.store, grant, "inbox", TestMessage())
            // Both were stored long ago.
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                try await client.query("UPDATE messages SET created_at = 1000 WHERE grant_id = \(grant.rawValue)::uuid")
            }
            var inbox = try await h.store.fetch(grant: grant, folderID: "inbox", uids: .all, includeRaw: false)
            #expect(inbox.map(\.savedAt) == [1000, 1000])
            let before = WallClock.unixSeconds()
            _ = try await h.store.move(grant: grant, from: "inbox", uids: UIDSet(uids: [stored.uid]), to: "archive")
            _ = try await h.store.copy(grant: grant, from: "inbox", uids: UIDSet(uids: [copied.uid]), to: "archive")
            let archive = try await h.store.fetch(grant: grant, folderID: "archive", uids: .all, includeRaw: false)
            #expect(archive.count == 2 && archive.allSatisfy { $0.savedAt >= before })
            // The moved message keeps its creation date for the API; the copy is a new message.
            #expect(archive.first { $0.id == stored.messageID }?.createdAt == 1000)
            inbox = try await h.store.fetch(grant: grant, folderID: "inbox", uids: .all, includeRaw: false)
            #expect(inbox.map(\.savedAt) == [1000])
        }
    }
}

/// A Postgres that cannot be asked is told apart from a query that is wrong: the first is a
/// temporary condition (API 503, SMTP 451, IMAP UNAVAILABLE), the second a fault.
@Suite struct PostgresUnavailabilityTests {
    @Test func anUnreachableServerIsUnavailable() async throws {
        // Port 1 on loopback refuses connections: a Postgres that is down.
        let client = PostgresClient(configuration: try PostgresEndpoint(url: "postgres://mailnode@127.0.0.1:1/mail").clientConfiguration(),
                                    backgroundLogger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger, timeout: .seconds(2))
            do {
                _ = try await store.grant(id: .random())
                Issue.record("an unreachable Postgres answered")
            } catch {
                #expect(PostgresErrors.isUnavailable(error), "\(error)")
            }
        }
    }

    /// The store remembers whether its last call reached Postgres: a caller that skips a read
    /// (an SMTP MAIL FROM) asks it to refuse as early as that read would have.
    @Test func aStoreTellsWhetherItsLastCallFoundPostgresUnreachable() async throws {
        try await TestEnvironment.withPool(url: "postgres://mailnode@127.0.0.1:1/mail") { unreachablePool in
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                let down = PostgresMailStore(client: client, pool: unreachablePool, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 20,
                                             timeout: .seconds(5))
                #expect(!down.lastCallFoundStoreUnreachable, "nothing was asked yet")
                await #expect(throws: (any Error).self) { _ = try await down.folders(grant: .random()) }
                #expect(down.lastCallFoundStoreUnreachable)

                let up = PostgresMailStore(client: client, logger: TestEnvironment.logger, defaultQuotaBytes: 1 << 20)
                await #expect(throws: MailStoreError.noSuchGrant) { _ = try await up.storeFlags(grant: .random(), folderID: "inbox",
                    uids: UIDSet(uids: [1]), operation: .add(MessageFlags([MessageFlags.seen])), unchangedSince: nil) }
                #expect(!up.lastCallFoundStoreUnreachable, "an answer, even a refusal, is reaching it")
            }
        }
    }

    /// After failing to connect for a while the pool stops trying and fails requests at once.
    @Test func thePoolGivingUpIsUnavailableButACancelledRequestIsNot() {
        #expect(PostgresErrors.isUnavailable(ConnectionPoolError.connectionCreationCircuitBreakerTripped))
        #expect(PostgresErrors.isUnavailable(ConnectionPoolError.poolShutdown))
        #expect(!PostgresErrors.isUnavailable(ConnectionPoolError.requestCancelled))
    }

    @Test func aWrongQueryIsNot() async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            do {
                try await client.query("SELECT * FROM no_such_table_at_all")
                Issue.record("the query ran")
            } catch {
                #expect(!PostgresErrors.isUnavailable(error), "\(error)")
            }
        }
    }
}
