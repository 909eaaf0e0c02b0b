/// Migration version 28: a STORE and an EXPUNGE run only the statements their answer needs.
///
/// Under the IMAP load, Postgres spent a third of its time in `mail_store_flags` (a STORE, and the
/// first half of every EXPUNGE), and its profile was flat: executor start-up and expression set-up
/// for each of the eleven statements one STORE ran, not any one slow statement. Now:
/// * **The lock takes the modseq only.** A flag change and an expunge into Trash neither add bytes
///   nor read the storage limit, so they bump the grant's modseq in one UPDATE of the grant row
///   (still the mailbox's lock) instead of calling `mail_lock_grant`, whose storage limit is a
///   function call and a read of the workspace's limit.
/// * **Existence checks only where the answer depends on them.** A STORE that changes flags proves
///   that its grant and folder exist by the rows it finds; the grant and the folder are looked up
///   only when it finds nothing, to tell "nothing to change" from "no such folder".
/// * **One write of the folder row.** The function counts the unseen and deleted messages it
///   changes from the rows it updates (their flags before and after) and writes the counters with
///   the folder's highest modseq in one UPDATE; the counter trigger stands aside meanwhile
///   (`mail.folder_counts_by_caller`, as `mail_append` does), where it used to write the same row
///   a second time from the statement's transition tables. The grant lock makes the flags read
///   in the statement the flags it replaces: every writer of `messages` holds it.
enum FlagWriteSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_store_flags(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint,
                                                    p_lows bigint[], p_highs bigint[], p_replace boolean, p_replacement text[],
                                                    p_added text[], p_removed text[], p_unchanged_since bigint)
        RETURNS TABLE (r_kind text, r_uid bigint, r_id text, r_flags text[], r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_modseq bigint;
            v_low bigint := p_lows[1];
            v_high bigint := p_highs[cardinality(p_highs)];
            v_ids text[];
            v_unseen bigint;
            v_deleted bigint;
            v_removed text[] := ARRAY(SELECT lower(r COLLATE "C") FROM unnest(p_removed) AS r);
        BEGIN
            IF p_unchanged_since IS NULL THEN
                PERFORM 1 FROM messages s
                WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                  AND \(KeywordCaseSchema.mergedFlags(of: "s.flags")) IS DISTINCT FROM s.flags
                LIMIT 1;
                IF NOT FOUND THEN
                    PERFORM 1 FROM grants g WHERE g.id = p_grant;
                    IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
                    PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                    IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                    RETURN;
                END IF;
            END IF;
            UPDATE grants g SET mail_modseq = g.mail_modseq + 1 WHERE g.id = p_grant RETURNING g.mail_modseq INTO v_modseq;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
            IF p_unchanged_since IS NOT NULL THEN
                PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                RETURN QUERY
                SELECT 'failed', m.uid, m.id, m.flags, m.modseq FROM messages m
                WHERE m.grant_id = p_grant AND m.folder_id = p_folder AND m.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)
                  AND m.modseq > p_unchanged_since
                ORDER BY m.uid;
            END IF;
            PERFORM set_config('mail.folder_counts_by_caller', 'on', true);
            WITH updated AS (
                UPDATE messages AS m SET flags = n.new_flags, modseq = v_modseq, updated_at = p_now
                FROM (
                    SELECT s.id, s.flags AS old_flags, \(KeywordCaseSchema.mergedFlags(of: "s.flags")) AS new_flags
                    FROM messages s
                    WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                      AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                      AND (p_unchanged_since IS NULL OR s.modseq <= p_unchanged_since)
                ) AS n
                WHERE m.grant_id = p_grant AND m.id = n.id AND n.new_flags IS DISTINCT FROM m.flags
                RETURNING m.uid, m.id, n.old_flags, m.flags AS new_flags)
            SELECT array_agg(u.id ORDER BY u.uid),
                   COALESCE(sum((NOT ('\\Seen' = ANY (u.new_flags)))::int - (NOT ('\\Seen' = ANY (u.old_flags)))::int), 0),
                   COALESCE(sum(('\\Deleted' = ANY (u.new_flags))::int - ('\\Deleted' = ANY (u.old_flags))::int), 0)
            INTO v_ids, v_unseen, v_deleted
            FROM updated u;
            PERFORM set_config('mail.folder_counts_by_caller', 'off', true);
            IF v_ids IS NULL THEN
                PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                RETURN;
            END IF;
            UPDATE folders f SET highest_modseq = v_modseq, unseen_count = f.unseen_count + v_unseen,
                deleted_count = f.deleted_count + v_deleted
            WHERE f.grant_id = p_grant AND f.id = p_folder;
            PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            RETURN QUERY
            SELECT 'changed', m.uid, m.id, m.flags, m.modseq FROM messages m
            WHERE m.grant_id = p_grant AND m.id = ANY (v_ids) ORDER BY m.uid;
        END $$
        """,
        """
        CREATE OR REPLACE FUNCTION mail_expunge(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint,
                                                p_lows bigint[], p_highs bigint[])
        RETURNS TABLE (r_uid bigint, r_trash_uid bigint, r_uid_validity bigint, r_trash_id text, r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_modseq bigint;
            v_role text;
            v_trash record;
            v_ids text[];
            v_uids bigint[];
            v_base bigint;
        BEGIN
            UPDATE grants g SET mail_modseq = g.mail_modseq + 1 WHERE g.id = p_grant RETURNING g.mail_modseq INTO v_modseq;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
            SELECT f.system_role INTO v_role FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            SELECT array_agg(m.id ORDER BY m.uid), array_agg(m.uid ORDER BY m.uid) INTO v_ids, v_uids
            FROM messages m
            WHERE m.grant_id = p_grant AND m.folder_id = p_folder AND '\\Deleted' = ANY (m.flags)
              AND (p_lows IS NULL OR EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi));
            IF v_ids IS NULL THEN RETURN; END IF;
            IF v_role = 'trash' THEN
                PERFORM mail_delete_for_good(p_grant, v_modseq, p_now, v_ids, true);
                RETURN QUERY SELECT u, NULL::bigint, NULL::bigint, NULL::text, v_modseq FROM unnest(v_uids) AS u;
                RETURN;
            END IF;
            SELECT f.id, f.uid_validity INTO v_trash FROM folders f WHERE f.grant_id = p_grant AND f.system_role = 'trash';
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            v_base := mail_move_rows(p_grant, v_modseq, p_now, p_folder, v_trash.id, v_ids, v_uids, true);
            PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            RETURN QUERY SELECT t.uid, v_base + t.n - 1, v_trash.uid_validity, v_trash.id, v_modseq
                         FROM unnest(v_uids) WITH ORDINALITY AS t(uid, n);
        END $$
        """,
    ]
}
