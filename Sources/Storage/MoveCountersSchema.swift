/// Migration version 29: a move (IMAP MOVE, an EXPUNGE into Trash, the API's folder change) writes
/// each folder row once.
///
/// `mail_move_rows` reserved the destination's UIDs and bumped the source's highest modseq, then
/// the counter trigger wrote both rows again from the statement's transition tables: four row
/// versions and the trigger's grouped statement for every EXPUNGE. Now it counts the moved
/// messages first (one read by primary key), writes each folder's counters with its UIDNEXT or
/// highest modseq in one UPDATE, and the trigger stands aside (`mail.folder_counts_by_caller`) while
/// the rows move. An EXPUNGE clears `\Deleted` as it moves, so the destination counts none of them
/// deleted.
enum MoveCountersSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_move_rows(p_grant uuid, p_modseq bigint, p_now bigint, p_source text, p_destination text,
                                                  p_ids text[], p_uids bigint[], p_clear_deleted boolean) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            v_base bigint;
            v_count bigint;
            v_unseen bigint;
            v_deleted bigint;
            v_bytes bigint;
        BEGIN
            SELECT count(*), count(*) FILTER (WHERE NOT ('\\Seen' = ANY (m.flags))),
                   count(*) FILTER (WHERE '\\Deleted' = ANY (m.flags)), COALESCE(sum(m.size), 0)
            INTO v_count, v_unseen, v_deleted, v_bytes
            FROM messages m WHERE m.grant_id = p_grant AND m.id = ANY (p_ids);
            UPDATE folders f SET uid_next = f.uid_next + cardinality(p_ids), highest_modseq = p_modseq,
                message_count = f.message_count + v_count, unseen_count = f.unseen_count + v_unseen,
                deleted_count = f.deleted_count + CASE WHEN p_clear_deleted THEN 0 ELSE v_deleted END,
                size_bytes = f.size_bytes + v_bytes
            WHERE f.grant_id = p_grant AND f.id = p_destination
            RETURNING f.uid_next - cardinality(p_ids) INTO v_base;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            UPDATE folders f SET highest_modseq = p_modseq, message_count = f.message_count - v_count,
                unseen_count = f.unseen_count - v_unseen, deleted_count = f.deleted_count - v_deleted,
                size_bytes = f.size_bytes - v_bytes
            WHERE f.grant_id = p_grant AND f.id = p_source;
            INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
            SELECT p_grant, p_source, t.uid, p_modseq, t.id FROM unnest(p_uids, p_ids) AS t(uid, id);
            PERFORM set_config('mail.folder_counts_by_caller', 'on', true);
            UPDATE messages AS m SET folder_id = p_destination, uid = v_base + t.n - 1, modseq = p_modseq,
                arrived_modseq = p_modseq, updated_at = p_now, saved_at = p_now,
                flags = CASE WHEN p_clear_deleted THEN array_remove(m.flags, '\\Deleted') ELSE m.flags END
            FROM unnest(p_ids) WITH ORDINALITY AS t(id, n)
            WHERE m.grant_id = p_grant AND m.id = t.id;
            PERFORM set_config('mail.folder_counts_by_caller', 'off', true);
            RETURN v_base;
        END $$
        """,
    ]
}
