import Logging
import PostgresNIO

/// The schema as an ordered list of versions. A version is applied once, in its own
/// transaction, and recorded in `schema_migrations`; versions are never edited once released,
/// only added.
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let statements: [String]
    }

    /// The key of the session-level advisory lock that serializes nodes starting together.
    public static let advisoryLockKey: Int64 = 0x6D61_696C_6E6F_6465  // "mailnode"

    public static let all: [Migration] = [
        Migration(version: 1, name: "grants and folders", statements: [
            """
            CREATE TABLE grants (
                id uuid PRIMARY KEY,
                email text NOT NULL,
                email_normalized text NOT NULL UNIQUE,
                region text NOT NULL,
                app_password_hash text,
                credentials_version bigint NOT NULL DEFAULT 1,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL
            )
            """,
            """
            CREATE TABLE folders (
                grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
                id text NOT NULL,
                name text NOT NULL,
                system_role text,
                special_use text,
                uid_validity bigint NOT NULL,
                uid_next bigint NOT NULL DEFAULT 1,
                highest_modseq bigint NOT NULL DEFAULT 1,
                created_at bigint NOT NULL,
                PRIMARY KEY (grant_id, id),
                UNIQUE (grant_id, name)
            )
            """,
        ]),
        Migration(version: 2, name: "mail store", statements: MailStoreSchema.statements),
        Migration(version: 3, name: "webhooks and outbound queue", statements: DeliverySchema.statements),
        Migration(version: 4, name: "outbound recipient results", statements: OutboundResultsSchema.statements),
        Migration(version: 5, name: "folder counters and write functions", statements: WritePathSchema.statements),
        // Every arriving message asks this index whether an earlier message references it (threading).
        // With GIN's pending list, each of those searches scanned every entry not yet merged, and
        // every few thousand inserts one of them paid for merging the list: searches cost 4.5 ms
        // under the IMAP load instead of 1. References arrays are short, so merging at insert is cheap.
        //
        // Message bytes are compressed with lz4 instead of pglz where the server has it: pglz costs
        // more CPU than the rest of an APPEND of a 10 KB message. Rows already stored keep pglz.
        Migration(version: 6, name: "thread lookup index without a pending list; lz4 message bytes", statements: [
            // The table before its index, the order in which writers lock them.
            compressWithLZ4(table: "message_contents", column: "raw", what: "message bytes"),
            "ALTER INDEX message_contents_refs SET (fastupdate = off)",
            "SELECT gin_clean_pending_list('message_contents_refs')",
        ]),
        Migration(version: 7, name: "message events carry facts", statements: EventFactsSchema.statements),
        Migration(version: 8, name: "subscriptions", statements: SubscriptionSchema.statements),
        // IMAP \Recent (RFC 3501 2.3.2): each folder remembers the first UID no session has claimed.
        // Mail already stored when this version arrives counts as seen, so no client gets a flood of it.
        Migration(version: 9, name: "recent messages", statements: [
            "ALTER TABLE folders ADD COLUMN first_recent_uid bigint NOT NULL DEFAULT 1",
            "UPDATE folders SET first_recent_uid = uid_next",
        ]),
        Migration(version: 10, name: "thread lookups served by one index each", statements: ThreadLookupSchema.statements),
        Migration(version: 11, name: "outbox rows only for events a webhook takes", statements: WantedEventsSchema.statements),
        Migration(version: 12, name: "batch appends pay a write's fixed costs once", statements: BatchAppendSchema.statements),
        Migration(version: 13, name: "the outbox guard keeps its plan", statements: PlannedFunctionsSchema.statements),
        // EXPUNGE looks for the folder's messages marked \Deleted: few of them, found without reading
        // every message of the folder.
        Migration(version: 14, name: "deleted messages found by index", statements: [
            "CREATE INDEX messages_deleted ON messages (grant_id, folder_id, uid) WHERE '\\Deleted' = ANY (flags)",
        ]),
        Migration(version: 15, name: "a STORE that changes nothing writes nothing", statements: UnchangedFlagsSchema.statements),
        // The queued copy of every submitted message was compressed with pglz, which cost Postgres
        // half its CPU while 1 MB submissions arrived; lz4 where the server has it, as for the
        // stored copy (version 6).
        Migration(version: 16, name: "lz4 queued message bytes", statements: [
            compressWithLZ4(table: "outbound_messages", column: "raw", what: "queued message bytes"),
        ]),
        Migration(version: 17, name: "keywords are one flag in any letter case", statements: KeywordCaseSchema.statements),
        Migration(version: 18, name: "stored IMAP structures carry the version of their reading", statements: StoredStructureSchema.column),
        Migration(version: 19, name: "stored IMAP structures to render again found by index", statements: StoredStructureSchema.index),
        Migration(version: 20, name: "the thread lookup by subject keeps the subject index", statements: SubjectLookupSchema.statements),
        Migration(version: 21, name: "expunges remembered for a window", statements: VanishedWindowSchema.statements),
        Migration(version: 22, name: "IMAP METADATA entries", statements: MetadataSchema.statements),
        Migration(version: 23, name: "messages keep the date they were saved in their folder", statements: SaveDateSchema.statements),
        Migration(version: 24, name: "METADATA entries found by their folder", statements: MetadataFolderIndexSchema.statements),
        Migration(version: 25, name: "policies, rules, lists and workspaces", statements: GuardrailSchema.statements),
        Migration(version: 26, name: "policy storage limits and daily counts", statements: PolicyLimitsSchema.statements),
        Migration(version: 27, name: "revisions of policies, rules, lists and workspaces; storage limits by workspace", statements: GuardrailRevisionSchema.statements),
        Migration(version: 28, name: "a STORE and an EXPUNGE run only the statements their answer needs", statements: FlagWriteSchema.statements),
        Migration(version: 29, name: "a move writes each folder row once", statements: MoveCountersSchema.statements),
        Migration(version: 30, name: "a delivery attempt is recorded in one statement", statements: OutboundRecordSchema.statements),
        Migration(version: 31, name: "a submission writes its Sent folder's row once", statements: SubmitCountersSchema.statements),
        Migration(version: 32, name: "an outbound claim plans only its search for the due job", statements: OutboundClaimSchema.statements),
        Migration(version: 33, name: "a submission may lease its outbound jobs to the node that accepted it",
                  statements: OutboundHandoffSchema.statements),
        Migration(version: 34, name: "an APPEND into the selected mailbox claims its messages' \\Recent as it stores them",
                  statements: AppendRecentSchema.statements),
        // A message's body text was compressed with pglz: on a 12 KB text that is 119 µs of Postgres
        // CPU per row stored (an APPEND, a delivery, a submission's Sent copy), against 25 µs for lz4.
        // Its IMAP structures and extra headers go the same way when large enough to be compressed.
        // Rows already stored keep pglz. One table only, as in versions 6 and 16: its lock is the
        // only one the migration holds, so it cannot deadlock with a writer.
        Migration(version: 35, name: "lz4 message texts", statements:
            ["body", "body_structure", "envelope", "extra"].map {
                compressWithLZ4(table: "message_contents", column: $0, what: "message texts")
            }),
        Migration(version: 36, name: "a STORE of one message reads and writes it by its key", statements: OneMessageStoreSchema.statements),
        Migration(version: 37, name: "the thread lookup by referrer starts from its GIN index", statements: ReferrerLookupSchema.statements),
        Migration(version: 38, name: "a sent message's outcome is gathered only for a webhook that takes it",
                  statements: OutboundRecordEventsSchema.statements),
        Migration(version: 39, name: "a submission checks its sender's credentials and its rules' version as it commits",
                  statements: SubmitGuardsSchema.statements),
        Migration(version: 40, name: "a message's only job, delivered with no webhook taking its events, removes the message in one delete",
                  statements: DeliveredRecordSchema.statements),
        Migration(version: 41, name: "a STORE of one message that changes nothing runs one statement; one that changes writes what it read",
                  statements: StoreShortcutSchema.statements),
        Migration(version: 42, name: "an APPEND writes its grant row once", statements: AppendQuotaOnceSchema.statements),
        Migration(version: 43, name: "guardrail changes refresh the workspaces' storage limits one after the other",
                  statements: StorageLimitsRefreshOrderSchema.statements),
    ]

    /// Compresses `column` with lz4 from now on where the server was built with it, and says so
    /// where it was not; rows already stored keep their compression.
    static func compressWithLZ4(table: String, column: String, what: String) -> String {
        """
        DO $$ BEGIN
            ALTER TABLE \(table) ALTER COLUMN \(column) SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN
            RAISE NOTICE 'this Postgres was built without lz4; \(what) stay compressed with pglz';
        END $$
        """
    }

    /// Applies every missing version. Safe to call from many nodes at once: they queue on the
    /// advisory lock, and each finds the versions the others applied.
    /// - Returns: the versions this call applied.
    @discardableResult
    public static func run(on client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(advisoryLockKey))", logger: logger)
            do {
                let applied = try await applyMissing(on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(advisoryLockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    private static func applyMissing(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in all where !done.contains(migration.version) {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in migration.statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await transaction.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }
}
