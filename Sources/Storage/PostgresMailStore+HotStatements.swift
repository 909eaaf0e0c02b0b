import MailCore
import PostgresNIO

/// The statements of the hot paths, each a type of its own so that every connection keeps it
/// prepared (`HotStatement`): the write functions' calls, and the reads IMAP makes per command.
extension PostgresMailStore {
    // MARK: - Writes (`WritePathSchema`)

    static func appendQuery(grant: GrantID, folderID: String, now: Int64, defaultQuota: Int64, window: Int64, raw: [ByteBuffer],
                            facts: String, claimingRecent: Bool) -> PostgresQuery {
        """
        SELECT r_message_id, r_uid, r_uid_validity, r_modseq, r_thread_id, r_deduplicated, r_claimed_recent
        FROM mail_append(\(grant.rawValue)::text::uuid, \(folderID)::text, \(now)::bigint, \(defaultQuota)::bigint, \(window)::bigint,
                         \(raw)::bytea[], \(facts)::text::jsonb, \(claimingRecent)::boolean)
        """
    }

    enum AppendStatement: HotStatement {
        static let sample = appendQuery(grant: .random(), folderID: "", now: 0, defaultQuota: 0, window: 0, raw: [], facts: "",
                                        claimingRecent: false)
    }

    static func storeFlagsQuery(grant: GrantID, folderID: String, now: Int64, defaultQuota: Int64, uids: UIDSet, isReplace: Bool,
                                replacement: [String], added: [String], removed: [String], unchangedSince: Int64?) -> PostgresQuery {
        """
        SELECT r_kind, r_uid, r_id, r_flags, r_modseq
        FROM mail_store_flags(\(grant.rawValue)::text::uuid, \(folderID)::text, \(now)::bigint, \(defaultQuota)::bigint,
                              \(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[], \(isReplace)::boolean,
                              \(replacement)::text[], \(added)::text[], \(removed)::text[], \(unchangedSince)::bigint)
        """
    }

    enum StoreFlagsStatement: HotStatement {
        static let sample = storeFlagsQuery(grant: .random(), folderID: "", now: 0, defaultQuota: 0, uids: .all, isReplace: false,
                                            replacement: [], added: [], removed: [], unchangedSince: nil)
    }

    static func copyQuery(grant: GrantID, source: String, destination: String, now: Int64, defaultQuota: Int64, uids: UIDSet,
                          move: Bool) -> PostgresQuery {
        """
        SELECT r_source_uid, r_destination_uid, r_uid_validity, r_modseq
        FROM mail_copy(\(grant.rawValue)::text::uuid, \(source)::text, \(destination)::text, \(now)::bigint, \(defaultQuota)::bigint,
                       \(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[], \(move)::boolean)
        """
    }

    enum CopyStatement: HotStatement {
        static let sample = copyQuery(grant: .random(), source: "", destination: "", now: 0, defaultQuota: 0, uids: .all, move: false)
    }

    static func expungeQuery(grant: GrantID, folderID: String, now: Int64, defaultQuota: Int64, uids: UIDSet?) -> PostgresQuery {
        """
        SELECT r_uid, r_trash_uid, r_uid_validity, r_trash_id, r_modseq
        FROM mail_expunge(\(grant.rawValue)::text::uuid, \(folderID)::text, \(now)::bigint, \(defaultQuota)::bigint,
                          \(uids?.lowerBounds)::bigint[], \(uids?.upperBounds)::bigint[])
        """
    }

    enum ExpungeStatement: HotStatement {
        static let sample = expungeQuery(grant: .random(), folderID: "", now: 0, defaultQuota: 0, uids: nil)
    }

    static func submitQuery(grant: GrantID, now: Int64, defaultQuota: Int64, window: Int64, sentCopy: ByteBuffer, facts: String,
                            transmit: ByteBuffer, mailFrom: String, domains: [String], recipients: [String],
                            draftID: String?, lease: (token: String, end: Int64)?, credentialsVersion: Int64?,
                            rulesVersion: Int64?) -> PostgresQuery {
        """
        SELECT r_message_id, r_uid, r_uid_validity, r_modseq, r_thread_id, r_draft_deleted, r_jobs
        FROM mail_submit(\(grant.rawValue)::text::uuid, \(now)::bigint, \(defaultQuota)::bigint, \(window)::bigint, \(sentCopy)::bytea,
                         \(facts)::text::jsonb, \(transmit)::bytea, \(mailFrom)::text, \(domains)::text[], \(recipients)::text[],
                         \(draftID)::text, \(lease?.token)::text, \(lease?.end)::bigint, \(credentialsVersion)::bigint,
                         \(rulesVersion)::bigint)
        """
    }

    enum SubmitStatement: HotStatement {
        static let sample = submitQuery(grant: .random(), now: 0, defaultQuota: 0, window: 0, sentCopy: ByteBuffer(), facts: "",
                                        transmit: ByteBuffer(), mailFrom: "", domains: [], recipients: [], draftID: nil,
                                        lease: nil, credentialsVersion: nil, rulesVersion: nil)
    }
}

extension PostgresMailStore {
    // MARK: - Reads of the IMAP hot path

    /// The folder's state (its name, and the modseq up to which expunges may be forgotten), the messages
    /// whose modseq is above `since` (arrived_modseq <= modseq always, so one range scan on
    /// (folder, modseq) finds additions and flag changes), and the tombstones above it: one
    /// statement, so one snapshot. Parameters: grant, folder, modseq.
    private static let changesRows = """
        SELECT 0 AS kind, uid_validity, uid_next, highest_modseq, name, NULL::text[], vanished_horizon
        FROM folders WHERE grant_id = $1::text::uuid AND id = $2::text
        UNION ALL
        SELECT 1, uid, modseq, arrived_modseq, id, flags, NULL FROM messages
        WHERE grant_id = $1::text::uuid AND folder_id = $2::text AND modseq > $3::bigint
        UNION ALL
        SELECT 2, uid, modseq, NULL, NULL, NULL, NULL FROM expunged_messages
        WHERE grant_id = $1::text::uuid AND folder_id = $2::text AND modseq > $3::bigint
        """

    static func changesQuery(grant: GrantID, folderID: String, since modseq: Int64) -> PostgresQuery {
        changesQuery(changesRows, grant: grant, folderID: folderID, since: modseq)
    }

    enum ChangesStatement: HotStatement {
        static let sample = changesQuery(grant: .random(), folderID: "", since: 0)
    }

    /// `changesRows`, and in the same statement the claim of `claimRecent` through the last UID the
    /// statement's snapshot holds (`seen`): the session then knows every message it claims. The
    /// row lock is taken only when there is something to claim (see `claimRecent`). The claim's
    /// row has kind 3: the first UID claimed.
    static func changesClaimingRecentQuery(grant: GrantID, folderID: String, since modseq: Int64) -> PostgresQuery {
        changesQuery("""
            WITH seen AS (SELECT uid_next - 1 AS through FROM folders WHERE grant_id = $1::text::uuid AND id = $2::text),
            claimed AS (
                UPDATE folders f SET first_recent_uid = seen.through + 1
                FROM seen, (SELECT first_recent_uid FROM folders
                            WHERE grant_id = $1::text::uuid AND id = $2::text AND first_recent_uid <= (SELECT through FROM seen)
                            FOR UPDATE) AS before
                WHERE f.grant_id = $1::text::uuid AND f.id = $2::text AND before.first_recent_uid <= seen.through
                RETURNING before.first_recent_uid)
            \(changesRows)
            UNION ALL
            SELECT 3, first_recent_uid, 0, NULL, NULL, NULL, NULL FROM claimed
            """, grant: grant, folderID: folderID, since: modseq)
    }

    private static func changesQuery(_ sql: String, grant: GrantID, folderID: String, since modseq: Int64) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(grant.rawValue)
        bindings.append(folderID)
        bindings.append(modseq)
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    enum ChangesClaimingRecentStatement: HotStatement {
        static let sample = changesClaimingRecentQuery(grant: .random(), folderID: "", since: 0)
    }

    /// The folder row with its messages' UIDs, flags (space separated: a flag is an atom) and
    /// modseqs as arrays in UID order: one statement, so one snapshot. Not their ids: for 100,000
    /// messages those were a quarter of the statement's time and 100,000 strings for the reader.
    ///
    /// The aggregates read their rows in the order the sub-select gives them, which the index on
    /// (grant, folder, uid) gives for free; an `ORDER BY` inside each aggregate instead sorted the
    /// folder once per array (measured: 0.55 ms against 0.14 ms for 300 messages). The arrays
    /// take the same rows in the same order whatever the plan; the reader checks the UID order.
    static func snapshotQuery(grant: GrantID, id: String? = nil, name: String? = nil) -> PostgresQuery {
        let column = id == nil ? "name" : "id"
        return """
            SELECT \(unescaped: folderColumns), m.uids, m.flags, m.modseqs
            FROM folders f, LATERAL (
                SELECT COALESCE(array_agg(uid), '{}') AS uids,
                    COALESCE(array_agg(array_to_string(flags, ' ')), '{}') AS flags, COALESCE(array_agg(modseq), '{}') AS modseqs
                FROM (SELECT uid, flags, modseq FROM messages
                      WHERE grant_id = f.grant_id AND folder_id = f.id ORDER BY uid) AS ordered) AS m
            WHERE f.grant_id = \(grant.rawValue)::text::uuid AND f.\(unescaped: column) = \(id ?? name ?? "")::text
            """
    }

    enum SnapshotByIDStatement: HotStatement {
        static let sample = snapshotQuery(grant: .random(), id: "")
    }

    enum SnapshotByNameStatement: HotStatement {
        static let sample = snapshotQuery(grant: .random(), name: "")
    }

    /// The messages of `uids` in the folder, UID order, with their facts (and bytes).
    static func fetchQuery(grant: GrantID, folderID: String, uids: UIDSet, includeRaw: Bool) -> PostgresQuery {
        let low = uids.ranges.first?.lowerBound ?? 1, high = uids.ranges.last?.upperBound ?? 0
        return """
            SELECT \(unescaped: includeRaw ? messageColumnsWithRaw : messageColumns)
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = \(grant.rawValue)::text::uuid AND m.folder_id = \(folderID)::text
              AND m.uid BETWEEN \(low)::bigint AND \(high)::bigint
              AND EXISTS (SELECT 1 FROM unnest(\(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[]) AS r(lo, hi)
                          WHERE m.uid BETWEEN r.lo AND r.hi)
            ORDER BY m.uid
            """
    }

    enum FetchStatement: HotStatement {
        static let sample = fetchQuery(grant: .random(), folderID: "", uids: .all, includeRaw: false)
    }

    enum FetchWithRawStatement: HotStatement {
        static let sample = fetchQuery(grant: .random(), folderID: "", uids: .all, includeRaw: true)
    }

    /// Every folder of the grant (or the one of `id` or `name`), in the seed's order.
    static func foldersQuery(grant: GrantID, filter: FolderFilter?) -> PostgresQuery {
        switch filter {
        case nil:
            """
            SELECT \(unescaped: folderColumns) FROM folders f WHERE f.grant_id = \(grant.rawValue)::text::uuid
            ORDER BY array_position(ARRAY['inbox','sent','drafts','trash','junk','archive'], f.system_role) NULLS LAST, f.name COLLATE "C"
            """
        case .some(.id(let id)):
            "SELECT \(unescaped: folderColumns) FROM folders f WHERE f.grant_id = \(grant.rawValue)::text::uuid AND f.id = \(id)::text"
        case .some(.name(let name)):
            "SELECT \(unescaped: folderColumns) FROM folders f WHERE f.grant_id = \(grant.rawValue)::text::uuid AND f.name = \(name)::text"
        }
    }

    enum FoldersStatement: HotStatement {
        static let sample = foldersQuery(grant: .random(), filter: nil)
    }

    enum FolderByIDStatement: HotStatement {
        static let sample = foldersQuery(grant: .random(), filter: .id(""))
    }

    enum FolderByNameStatement: HotStatement {
        static let sample = foldersQuery(grant: .random(), filter: .name(""))
    }

    /// The folder of `name` and the grant's quota counters.
    static func appendTargetQuery(grant: GrantID, name: String, defaultQuota: Int64) -> PostgresQuery {
        """
        SELECT \(unescaped: folderColumns), g.quota_used_bytes, mail_storage_limit(g.quota_limit_bytes, g.workspace_id, \(defaultQuota)::bigint),
            g.quota_message_count
        FROM folders f JOIN grants g ON g.id = f.grant_id
        WHERE f.grant_id = \(grant.rawValue)::text::uuid AND f.name = \(name)::text
        """
    }

    enum AppendTargetStatement: HotStatement {
        static let sample = appendTargetQuery(grant: .random(), name: "", defaultQuota: 0)
    }
}
