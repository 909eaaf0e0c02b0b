/// Migration version 17: keywords are one flag whatever their letter case (RFC 3501 9, note 1: the
/// protocol's alphabetic characters are case-insensitive), as clients and other servers treat them.
///
/// `STORE +FLAGS (foo)` on a message that has `Foo` stored `foo` beside it, and `-FLAGS (foo)` left
/// `Foo` in place, so one message showed a keyword twice and a search by either spelling disagreed
/// with what FETCH showed. Now a flag added is kept only when the message has no flag of that name
/// in any case (the spelling already stored wins), and a flag removed takes away every spelling of
/// its name.
enum KeywordCaseSchema {
    /// The flags a message ends with, sorted by bytes as `MessageFlags` sorts them; names compare
    /// with ASCII letters folded (`COLLATE "C"`), as `MessageFlags` folds them. Written out in
    /// the function's statements rather than called: Postgres does not inline a SQL function with a
    /// sub-select, and would plan it again on every STORE.
    static func mergedFlags(of current: String) -> String {
        """
        ARRAY(SELECT d.f FROM (
                  SELECT DISTINCT ON (lower(t.f COLLATE "C")) t.f
                  FROM unnest(CASE WHEN p_replace THEN p_replacement ELSE \(current) END || p_added) WITH ORDINALITY AS t(f, n)
                  WHERE lower(t.f COLLATE "C") <> ALL (v_removed)
                  ORDER BY lower(t.f COLLATE "C"), t.n) AS d
              ORDER BY d.f COLLATE "C")
        """
    }

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
            v_removed text[] := ARRAY(SELECT lower(r COLLATE "C") FROM unnest(p_removed) AS r);
        BEGIN
            IF p_unchanged_since IS NULL THEN
                PERFORM 1 FROM grants g WHERE g.id = p_grant;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
                PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                PERFORM 1 FROM messages s
                WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                  AND \(mergedFlags(of: "s.flags")) IS DISTINCT FROM s.flags
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
                    SELECT s.id, \(mergedFlags(of: "s.flags")) AS new_flags
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
