/// Migration version 21: expunges are remembered for a window, not for ever.
///
/// A tombstone (`expunged_messages`) tells a client that resynchronises (QRESYNC, RFC 7162 3.2.5;
/// `UID FETCH ... (CHANGEDSINCE n VANISHED)`) which of the messages it knew are gone. Kept for ever
/// they would outgrow the mail itself on a busy mailbox, so each now records when it was written,
/// and pruning forgets those older than the operator's window (`imap.vanished_window_seconds`).
/// Each folder remembers the highest modseq it forgot (`vanished_horizon`): a client asking about
/// changes since a modseq at or below it is told about every UID it may know that no longer exists,
/// as RFC 7162 3.2.5.2 allows, instead of an incomplete list.
///
/// Tombstones already stored count as written when this version arrives.
enum VanishedWindowSchema {
    static let statements: [String] = [
        "ALTER TABLE expunged_messages ADD COLUMN expunged_at bigint NOT NULL DEFAULT extract(epoch FROM now())::bigint",
        "ALTER TABLE folders ADD COLUMN vanished_horizon bigint NOT NULL DEFAULT 0",
        "CREATE INDEX expunged_messages_age ON expunged_messages (expunged_at)",
    ]

    /// The transaction-level advisory lock that lets one node prune at a time.
    static let pruneLockKey: Int64 = 0x6D6E_7661_6E69_7368  // "mnvanish"

    /// Up to `$2` tombstones written before `$1` (unix seconds), oldest first.
    static let oldest = """
        SELECT grant_id::text, folder_id, uid FROM expunged_messages
        WHERE expunged_at < $1::bigint ORDER BY expunged_at LIMIT $2::bigint
        """

    /// Locks the grants of `$1` the way every writer does, grant first, so that a mailbox or grant
    /// being deleted (grant, then folder, then tombstones) waits for the prune, or the prune for it,
    /// instead of the two deadlocking over a folder row and a tombstone.
    static let lockGrants = "SELECT id FROM grants WHERE id = ANY($1::text[]::uuid[]) ORDER BY id FOR NO KEY UPDATE"

    /// Forgets the tombstones named by `$1` (grants), `$2` (folders), `$3` (UIDs) and raises the
    /// horizon of each folder that lost some to the highest modseq it lost, in one statement.
    /// Returns how many were forgotten.
    static let prune = """
        WITH pruned AS (
            DELETE FROM expunged_messages e USING unnest($1::text[]::uuid[], $2::text[], $3::bigint[]) AS d(grant_id, folder_id, uid)
            WHERE e.grant_id = d.grant_id AND e.folder_id = d.folder_id AND e.uid = d.uid
            RETURNING e.grant_id, e.folder_id, e.modseq),
        horizons AS (
            SELECT grant_id, folder_id, max(modseq) AS modseq, count(*) AS forgotten FROM pruned GROUP BY grant_id, folder_id),
        raised AS (
            UPDATE folders f SET vanished_horizon = h.modseq FROM horizons h
            WHERE f.grant_id = h.grant_id AND f.id = h.folder_id AND f.vanished_horizon < h.modseq
            RETURNING 1)
        SELECT COALESCE(sum(forgotten), 0)::bigint FROM horizons
        """
}
