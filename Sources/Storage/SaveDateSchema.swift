/// Migration version 23: when a message was saved in its folder (IMAP SAVEDATE, RFC 8514).
///
/// Choices, and why:
/// * **A column that is NULL until a MOVE sets it.** Storing, copying and delivering make a new
///   row whose `created_at` is already the save date; only a move keeps the row, so only
///   `mail_move_rows` writes `saved_at`. Readers take `COALESCE(saved_at, created_at)`, and adding
///   a nullable column rewrites nothing.
enum SaveDateSchema {
    static let statements: [String] = [
        "ALTER TABLE messages ADD COLUMN saved_at bigint",
        """
        CREATE OR REPLACE FUNCTION mail_move_rows(p_grant uuid, p_modseq bigint, p_now bigint, p_source text, p_destination text,
                                                  p_ids text[], p_uids bigint[], p_clear_deleted boolean) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            v_base bigint;
        BEGIN
            UPDATE folders f SET uid_next = f.uid_next + cardinality(p_ids), highest_modseq = p_modseq
            WHERE f.grant_id = p_grant AND f.id = p_destination
            RETURNING f.uid_next - cardinality(p_ids) INTO v_base;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            UPDATE folders f SET highest_modseq = p_modseq WHERE f.grant_id = p_grant AND f.id = p_source;
            INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
            SELECT p_grant, p_source, t.uid, p_modseq, t.id FROM unnest(p_uids, p_ids) AS t(uid, id);
            UPDATE messages AS m SET folder_id = p_destination, uid = v_base + t.n - 1, modseq = p_modseq,
                arrived_modseq = p_modseq, updated_at = p_now, saved_at = p_now,
                flags = CASE WHEN p_clear_deleted THEN array_remove(m.flags, '\\Deleted') ELSE m.flags END
            FROM unnest(p_ids) WITH ORDINALITY AS t(id, n)
            WHERE m.grant_id = p_grant AND m.id = t.id;
            RETURN v_base;
        END $$
        """,
    ]
}
