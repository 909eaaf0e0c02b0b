import PostgresNIO
import MailCore
import TestSupport
import Testing
@testable import Storage

/// Every read of the IMAP hot path is served by an index: with sequential scans priced out, none of
/// their plans reads a mail table from end to end.
@Suite struct HotStatementPlanTests {
    static let statements: [(String, PostgresQuery)] = [
        ("changes", PostgresMailStore.ChangesStatement.sample),
        ("changes claiming recent", PostgresMailStore.ChangesClaimingRecentStatement.sample),
        ("snapshot by id", PostgresMailStore.SnapshotByIDStatement.sample),
        ("snapshot by name", PostgresMailStore.SnapshotByNameStatement.sample),
        ("fetch", PostgresMailStore.FetchStatement.sample),
        ("fetch with bytes", PostgresMailStore.FetchWithRawStatement.sample),
        ("folders", PostgresMailStore.FoldersStatement.sample),
        ("folder by id", PostgresMailStore.FolderByIDStatement.sample),
        ("folder by name", PostgresMailStore.FolderByNameStatement.sample),
        ("append target", PostgresMailStore.AppendTargetStatement.sample),
    ]

    @Test(arguments: statements.map(\.0))
    func readsNoMailTableSequentially(_ name: String) async throws {
        let query = try #require(Self.statements.first { $0.0 == name }?.1)
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await client.withConnection { connection in
                try await connection.query("SET enable_seqscan = off", logger: TestEnvironment.logger)
                var plan: [String] = []
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds),
                                                      logger: TestEnvironment.logger)
                for try await line in rows.decode(String.self) { plan.append(line) }
                let scans = plan.filter { line in
                    ["messages", "message_contents", "folders", "expunged_messages", "grants"].contains { line.contains("Seq Scan on \($0) ") }
                }
                #expect(scans.isEmpty, "\(name): \(plan.joined(separator: "\n"))")
            }
        }
    }

    /// The lookups `mail_resolve_thread` makes for every arriving message (migration 10) and the one
    /// `mail_expunge` makes for every EXPUNGE (migration 14), as PL/pgSQL runs them once it keeps a
    /// generic plan: each must reach its rows through the named index, by the key it looks up,
    /// never through the grant's whole range.
    static let threadLookups: [(name: String, sql: String, index: String, key: String)] = [
        ("by reference", """
            SELECT found.thread_id FROM unnest($2::text[]) AS r(header)
            CROSS JOIN LATERAL (
                SELECT m.thread_id, m.internal_date, m.id FROM messages m
                WHERE m.grant_id = $1 AND m.message_id_header = r.header
                ORDER BY m.internal_date DESC, m.id LIMIT 1) AS found
            ORDER BY found.internal_date DESC, found.id LIMIT 1
            """, "messages_message_id", "message_id_header = r.header"),
        ("by referrer", """
            SELECT m.thread_id FROM message_contents c
            JOIN messages m ON m.grant_id = c.grant_id AND m.content_digest = c.digest
            WHERE mail_scoped_refs(c.grant_id, c.refs) @> ARRAY[$1::text || ' ' || ($2)[1]]
            LIMIT 1
            """, "message_contents_scoped_refs", "mail_scoped_refs"),
        ("by subject", """
            SELECT m.thread_id FROM messages m
            WHERE m.grant_id = $1 AND m.normalized_subject = ($2)[1] AND m.normalized_subject <> ''
              AND m.internal_date <= ($2)[2]::bigint + ($2)[3]::bigint
            ORDER BY m.internal_date DESC, m.id LIMIT 1
            """, "messages_subject_latest", "normalized_subject ="),
        ("deleted", """
            SELECT array_agg(m.id ORDER BY m.uid) FROM messages m
            WHERE m.grant_id = $1 AND m.folder_id = ($2)[1] AND '\\Deleted' = ANY (m.flags)
            """, "messages_deleted", "folder_id ="),
    ]

    @Test(arguments: threadLookups.map(\.name))
    func threadLookupsUseTheirIndexUnderAGenericPlan(_ name: String) async throws {
        let lookup = try #require(Self.threadLookups.first { $0.name == name })
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await client.withConnection { connection in
                let logger = TestEnvironment.logger
                try await connection.query("SET plan_cache_mode = force_generic_plan", logger: logger)
                // On a nearly empty table the statistics say one row per grant, so every index that
                // starts with the grant costs the same and the planner may take any of them, then
                // sort. With sorts priced out, the plan shows what the named index can do: serve
                // the lookup by its key, in the order of the answer.
                try await connection.query("SET enable_sort = off", logger: logger)
                try await connection.query("SET enable_incremental_sort = off", logger: logger)
                let statement = "thread_lookup_\(Int.random(in: 0..<1_000_000))"
                try await connection.query(PostgresQuery(unsafeSQL: "PREPARE \(statement) (uuid, text[]) AS \(lookup.sql)"), logger: logger)
                var plan: [String] = []
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "EXPLAIN EXECUTE \(statement) ('00000000-0000-0000-0000-000000000000', ARRAY['<a@b>'])"),
                    logger: logger)
                for try await line in rows.decode(String.self) { plan.append(line) }
                try await connection.query(PostgresQuery(unsafeSQL: "DEALLOCATE \(statement)"), logger: logger)
                let text = plan.joined(separator: "\n")
                #expect(text.contains(lookup.index), "\(name): \(text)")
                #expect(plan.contains { $0.contains("Cond:") && $0.contains(lookup.key) }, "\(name): \(text)")
                #expect(!text.contains("Seq Scan on messages") && !text.contains("Seq Scan on message_contents"), "\(name): \(text)")
                #expect(!text.contains("message_contents_pkey") && !text.contains("BitmapAnd"), "\(name): \(text)")
            }
        }
    }

    /// After many grants are deleted, `ANALYZE` may record the mail tables as empty while they keep
    /// their pages: every plan made until the next one then prices any scan at nothing. The lookup
    /// by referrer names no grant column, so a plan that walked an index and filtered would read
    /// every grant's rows; `mail_referrer_thread` runs it without plain index scans (migration 37),
    /// which leaves its GIN index the only way in. The statistics are changed inside a transaction
    /// that is rolled back, so no other connection sees them.
    @Test func referrerLookupStartsFromItsIndexWhenTheStatisticsSayEmpty() async throws {
        let lookup = try #require(Self.threadLookups.first { $0.name == "by referrer" })
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await client.withConnection { connection in
                let logger = TestEnvironment.logger
                var settings: [String] = []
                for try await setting in try await connection.query(
                    "SELECT unnest(proconfig) FROM pg_proc WHERE proname = 'mail_referrer_thread'", logger: logger).decode(String.self) {
                    settings.append(setting)
                }
                #expect(settings == ["enable_indexscan=off"])
                try await connection.query("BEGIN", logger: logger)
                for statement in [
                    "SET LOCAL plan_cache_mode = force_generic_plan", "SET LOCAL enable_seqscan = off",
                    "SET LOCAL enable_indexscan = off",
                    "UPDATE pg_class SET reltuples = 0, relpages = 17 WHERE oid IN ('messages'::regclass, 'message_contents'::regclass)",
                    "UPDATE pg_class SET reltuples = 0, relpages = 5 WHERE relkind = 'i' AND relname LIKE 'message%'",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                var plan: [String] = []
                let statement = "referrer_lookup_\(Int.random(in: 0..<1_000_000))"
                try await connection.query(PostgresQuery(unsafeSQL: "PREPARE \(statement) (uuid, text[]) AS \(lookup.sql)"), logger: logger)
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "EXPLAIN EXECUTE \(statement) ('00000000-0000-0000-0000-000000000000', ARRAY['<a@b>'])"),
                    logger: logger)
                for try await line in rows.decode(String.self) { plan.append(line) }
                try await connection.query("ROLLBACK", logger: logger)
                let text = plan.joined(separator: "\n")
                #expect(plan.contains { $0.contains("Index Cond:") && $0.contains("mail_scoped_refs") }, "\(text)")
                #expect(!text.contains("message_contents_pkey") && !text.contains("Seq Scan"), "\(text)")
            }
        }
    }
}

/// Each finished outbound job records its attempt and reads its message's jobs to tell whether it
/// was the last (`mail_outbound_record`), and a worker's claim looks for the oldest due job
/// (`mail_outbound_claim`): behind a backlog of thousands of queued jobs, under the plans Postgres
/// keeps for any values, each reads a handful of index entries, never a whole table and never a
/// whole index. Postgres itself counts what the transaction read.
@Suite struct OutboundQueuePlanTests {
    static let backlog = 3000

    @Test func recordingAnAttemptAndClaimingReadOnlyTheJobsTheyName() async throws {
        try await PostgresWebhookQueueTests.withFreshDatabase { client in
            try await TestEnvironment.keepEveryEvent(client)
            let (grant, sent) = try await PostgresOutboundQueueTests.submit(client, to: ["a@one.example", "b@two.example"])
            let logger = TestEnvironment.logger
            try await client.withConnection { connection in
                try await connection.query("UPDATE outbound_jobs SET lease_token = 'plan-test'", logger: logger)
                var jobs: [Int64] = []
                for try await id in try await connection.query("SELECT id FROM outbound_jobs ORDER BY id", logger: logger).decode(Int64.self) {
                    jobs.append(id)
                }
                #expect(jobs.count == 2)
                // Another message's backlog, due later than every job above, as long as a busy region's.
                try await connection.query("""
                    WITH queued AS (INSERT INTO outbound_messages (grant_id, sent_message_id, mail_from, raw, created_at)
                                    VALUES (\(grant.rawValue)::text::uuid, 'backlog', 'a@example.test', '\\x00'::bytea, 0) RETURNING id)
                    INSERT INTO outbound_jobs (outbound_message_id, grant_id, domain, recipients, next_attempt_at, created_at, updated_at)
                    SELECT queued.id, \(grant.rawValue)::text::uuid, 'd' || n || '.example', ARRAY['r@d' || n || '.example'],
                        \(WallClock.unixMilliseconds() + 60_000)::bigint + n, 0, 0
                    FROM queued, generate_series(1, \(Self.backlog)) AS n
                    """, logger: logger)
                try await connection.query("ANALYZE outbound_jobs", logger: logger)
                try await connection.query("ANALYZE outbound_messages", logger: logger)
                let scans = ["outbound_jobs", "outbound_messages", "messages", "message_contents"]
                    .map { "pg_stat_get_xact_numscans('\($0)'::regclass)" }
                let entries = ["outbound_jobs_pkey", "outbound_jobs_due", "outbound_jobs_message", "outbound_messages_pkey"]
                    .map { "pg_stat_get_xact_tuples_returned('\($0)'::regclass)" }
                let counts = "SELECT ARRAY[\((scans + entries).joined(separator: ", "))]"
                let (states, claimed, read) = try await connection.withTransaction(logger: logger) {
                    transaction -> ([String?], [Int64], [Int64]) in
                    try await transaction.query("SET LOCAL enable_seqscan = off", logger: logger)
                    try await transaction.query("SET LOCAL plan_cache_mode = force_generic_plan", logger: logger)
                    var before: [Int64] = []
                    for try await row in try await transaction.query(PostgresQuery(unsafeSQL: counts), logger: logger) {
                        before = try row.decode([Int64].self)
                    }
                    var states: [String?] = []
                    for (index, job) in jobs.enumerated() {
                        let recipient = index == 0 ? "a@one.example" : "b@two.example"
                        let rows = try await transaction.query("""
                            SELECT mail_outbound_record(\(job), 'plan-test', \(grant.rawValue)::text::uuid, \(sent.messageID),
                                '{}'::text[], 1, 1767225600, ARRAY[\(recipient)]::text[], '[]'::jsonb, NULL, 0, true,
                                jsonb_build_object('delivered_at', 1767225600, 'recipients', jsonb_build_array(\(recipient)::text)), NULL)
                            """, logger: logger)
                        for try await state in rows.decode(String?.self) { states.append(state) }
                    }
                    // The oldest of the backlog is due a minute from now.
                    let later = WallClock.unixMilliseconds() + 120_000
                    var claimed: [Int64] = []
                    for try await id in try await transaction.query(
                        "SELECT r_id FROM mail_outbound_claim('plan-claim', \(later), \(later + 30_000))", logger: logger).decode(Int64.self) {
                        claimed.append(id)
                    }
                    var after: [Int64] = []
                    for try await row in try await transaction.query(PostgresQuery(unsafeSQL: counts), logger: logger) {
                        after = try row.decode([Int64].self)
                    }
                    return (states, claimed, zip(after, before).map { $0 - $1 })
                }
                #expect(states == ["delivered", "delivered"])
                #expect(claimed.count == 1 && !jobs.contains(claimed[0]), "the claim takes the oldest due job of the backlog")
                let tables = Array(read.prefix(4)), indexEntries = Array(read.suffix(4))
                #expect(tables == [0, 0, 0, 0], "a table was read whole (outbound_jobs, outbound_messages, messages, message_contents): \(tables)")
                // By key: the two jobs, their message, the message's jobs twice over, one due job.
                #expect(indexEntries.reduce(0, +) < 50, "an index was walked (pkey, due, message, messages pkey): \(indexEntries)")
            }
            let events = try await PostgresOutboundQueueTests.sendEvents(client, grant)
            #expect(events.map(\.type) == ["message.send_success"])
        }
    }
}
