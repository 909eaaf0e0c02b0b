/// Migration version 41: a STORE of one message runs fewer statements.
///
/// Postgres starts an executor for every statement a function runs, and under the IMAP mix that
/// start cost more than the statements' own work. For one UID the function now:
/// * answers a STORE that changes nothing (`+FLAGS` of flags the message has, `-FLAGS` of flags it
///   lacks) from its first read, deciding with expressions PL/pgSQL evaluates without an executor:
///   one statement instead of four. A message found proves its grant and folder, so those two
///   checks run only when it is missing;
/// * removes one flag by expression (`-FLAGS (\Flagged)`), when the message holds it under exactly
///   one spelling, instead of a query;
/// * writes the flags it read, without reading them again under the grant's lock: the UPDATE
///   replaces the row only if its flags are still those it read. Every flag writer takes the grant's
///   lock first, so a STORE that committed between the read and the lock is the only way they
///   differ, and then the function reads again under the lock and computes anew, as before.
/// The answers, the checks, the lock order and the counters are those of version 36 for flags as
/// the store writes them (one spelling per name, sorted). A row that still holds two spellings of a
/// name, from before migration 17, is no longer rewritten by a STORE that adds one of them; readers
/// fold such rows as they read them.
enum StoreShortcutSchema {
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
            -- Lowered as one text, an expression PL/pgSQL evaluates without starting the executor;
            -- the array's quoting has no letters, so each name is lowered as it was one by one.
            v_removed text[] := COALESCE(lower(p_removed::text COLLATE "C")::text[], '{}');
            v_lowered text[];
            v_id text;
            v_old text[];
            v_new text[];
            v_setting text;
        BEGIN
            IF p_unchanged_since IS NULL AND cardinality(p_lows) = 1 AND cardinality(p_highs) = 1 AND v_low = v_high THEN
                SELECT s.id, s.flags INTO v_id, v_old FROM messages s
                WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid = v_low;
                IF NOT FOUND THEN
                    PERFORM 1 FROM grants g WHERE g.id = p_grant;
                    IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
                    PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                    IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                    RETURN;
                END IF;
                v_lowered := lower(v_old::text COLLATE "C")::text[];
                IF NOT p_replace AND cardinality(v_removed) = 0
                   AND lower(p_added::text COLLATE "C")::text[] <@ v_lowered THEN
                    RETURN;
                END IF;
                IF NOT p_replace AND cardinality(p_added) = 0 AND NOT (v_removed && v_lowered) THEN
                    RETURN;
                END IF;
                IF NOT p_replace AND cardinality(p_added) = 0 AND cardinality(v_removed) = 1
                   AND p_removed[1] = ANY (v_old)
                   AND cardinality(array_remove(v_lowered, v_removed[1])) = cardinality(v_old) - 1 THEN
                    v_new := array_remove(v_old, p_removed[1]);
                ELSE
                    v_new := \(KeywordCaseSchema.mergedFlags(of: "v_old"));
                    IF v_new IS NOT DISTINCT FROM v_old THEN RETURN; END IF;
                END IF;
                UPDATE grants g SET mail_modseq = g.mail_modseq + 1 WHERE g.id = p_grant RETURNING g.mail_modseq INTO v_modseq;
                IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
                v_setting := set_config('mail.folder_counts_by_caller', 'on', true);
                UPDATE messages m SET flags = v_new, modseq = v_modseq, updated_at = p_now
                WHERE m.grant_id = p_grant AND m.id = v_id AND m.folder_id = p_folder AND m.uid = v_low AND m.flags = v_old;
                IF NOT FOUND THEN
                    -- Changed since the first read: read again under the grant's lock.
                    SELECT s.id, s.flags INTO v_id, v_old FROM messages s
                    WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid = v_low;
                    IF NOT FOUND THEN
                        v_setting := set_config('mail.folder_counts_by_caller', 'off', true);
                        PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
                        IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
                        RETURN;
                    END IF;
                    v_new := \(KeywordCaseSchema.mergedFlags(of: "v_old"));
                    IF v_new IS NOT DISTINCT FROM v_old THEN
                        v_setting := set_config('mail.folder_counts_by_caller', 'off', true);
                        RETURN;
                    END IF;
                    UPDATE messages m SET flags = v_new, modseq = v_modseq, updated_at = p_now
                    WHERE m.grant_id = p_grant AND m.id = v_id;
                END IF;
                v_setting := set_config('mail.folder_counts_by_caller', 'off', true);
                UPDATE folders f SET highest_modseq = v_modseq,
                    unseen_count = f.unseen_count + COALESCE((NOT ('\\Seen' = ANY (v_new)))::int - (NOT ('\\Seen' = ANY (v_old)))::int, 0),
                    deleted_count = f.deleted_count + COALESCE(('\\Deleted' = ANY (v_new))::int - ('\\Deleted' = ANY (v_old))::int, 0)
                WHERE f.grant_id = p_grant AND f.id = p_folder;
                PERFORM mail_message_events(p_grant, ARRAY[v_id], 'message.updated', p_now);
                r_kind := 'changed'; r_uid := v_low; r_id := v_id; r_flags := v_new; r_modseq := v_modseq;
                RETURN NEXT;
                RETURN;
            END IF;
        \(OneMessageStoreSchema.rangesPath)
        END $$
        """,
    ]
}
