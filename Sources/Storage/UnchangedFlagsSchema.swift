/// Migration version 15: a STORE that changes no flag writes nothing.
///
/// `mail_store_flags` took the grant's modseq (an UPDATE of the grant row) before it knew whether
/// any flag would change, so a STORE that asked for flags a message already had (`+FLAGS \Seen` on
/// read mail, a client repeating itself) still wrote, and its commit waited for the disk. It now
/// looks first, without a lock: when nothing would change, it answers from that look and the
/// transaction ends without having written. A STORE running beside it is ordered after it, as if
/// it had come second. `UNCHANGEDSINCE` (RFC 7162) keeps the locking path: its answer depends on
/// modseqs that must not move between the look and the write.
enum UnchangedFlagsSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_store_flags(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint,
                                                    p_lows bigint[], p_highs bigint[], p_replace boolean, p_replacement text[],
                                                    p_added text[], p_removed text[], p_unchanged_since bigint)
        RETURNS TABLE (r_kind text, r_uid bigint, r_id text, r_flags text[], r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_low bigint := p_lows[1];
            v_high bigint := p_highs[cardinality(p_highs)];
            v_ids text[];
        BEGIN
            IF p_unchanged_since IS NULL THEN
                PERFORM 1 FROM grants g WHERE g.id = p_grant;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
                PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                PERFORM 1 FROM messages s
                WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                  AND ARRAY(SELECT DISTINCT f COLLATE "C"
                            FROM unnest(CASE WHEN p_replace THEN p_replacement ELSE s.flags END || p_added) AS t(f)
                            WHERE f <> ALL (p_removed)
                            ORDER BY 1) IS DISTINCT FROM s.flags
                LIMIT 1;
                IF NOT FOUND THEN RETURN; END IF;
            END IF;
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            IF p_unchanged_since IS NOT NULL THEN
                RETURN QUERY
                SELECT 'failed', m.uid, m.id, m.flags, m.modseq FROM messages m
                WHERE m.grant_id = p_grant AND m.folder_id = p_folder AND m.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)
                  AND m.modseq > p_unchanged_since
                ORDER BY m.uid;
            END IF;
            WITH updated AS (
                UPDATE messages AS m SET flags = n.new_flags, modseq = v_lock.modseq, updated_at = p_now
                FROM (
                    SELECT s.id, ARRAY(
                        SELECT DISTINCT f COLLATE "C"
                        FROM unnest(CASE WHEN p_replace THEN p_replacement ELSE s.flags END || p_added) AS t(f)
                        WHERE f <> ALL (p_removed)
                        ORDER BY 1) AS new_flags
                    FROM messages s
                    WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                      AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                      AND (p_unchanged_since IS NULL OR s.modseq <= p_unchanged_since)
                ) AS n
                WHERE m.grant_id = p_grant AND m.id = n.id AND n.new_flags IS DISTINCT FROM m.flags
                RETURNING m.uid, m.id, m.flags, m.modseq)
            SELECT array_agg(u.id ORDER BY u.uid) INTO v_ids FROM updated u;
            IF v_ids IS NULL THEN RETURN; END IF;
            UPDATE folders f SET highest_modseq = v_lock.modseq WHERE f.grant_id = p_grant AND f.id = p_folder;
            PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            RETURN QUERY
            SELECT 'changed', m.uid, m.id, m.flags, m.modseq FROM messages m
            WHERE m.grant_id = p_grant AND m.id = ANY (v_ids) ORDER BY m.uid;
        END $$
        """,
    ]
}
