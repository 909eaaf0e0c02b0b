/// Migration version 31: a submission writes its Sent folder's row once.
///
/// `mail_submit` read the Sent folder's UIDVALIDITY, `mail_insert_message` then took the next UID
/// in one UPDATE of the folder's row, and the counter trigger wrote the row again from the INSERT's
/// transition table (a grouped statement of its own). Now the UPDATE that takes the UID also counts
/// the message (its size, whether it is unseen or deleted) and returns UIDVALIDITY, and the trigger
/// stands aside (`mail.folder_counts_by_caller`) while the message's row is inserted.
enum SubmitCountersSchema {
    static let statements: [String] = [
        "DROP FUNCTION mail_insert_message(uuid, bigint, bigint, text, bytea, jsonb, bigint)",
        """
        CREATE FUNCTION mail_insert_message(p_grant uuid, p_modseq bigint, p_now bigint, p_folder text, p_raw bytea, p_fact jsonb,
                                            p_window bigint, OUT message_id text, OUT uid bigint, OUT thread_id text,
                                            OUT uid_validity bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_internal_date bigint := (p_fact ->> 'internal_date')::bigint;
            v_flags text[] := ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'flags'));
            v_digest bytea;
        BEGIN
            thread_id := mail_resolve_thread(p_grant, p_fact, v_internal_date, p_window);
            v_digest := mail_store_content(p_grant, p_raw, p_fact, p_now);
            UPDATE folders f SET uid_next = f.uid_next + 1, highest_modseq = p_modseq, message_count = f.message_count + 1,
                unseen_count = f.unseen_count + CASE WHEN '\\Seen' = ANY (v_flags) THEN 0 ELSE 1 END,
                deleted_count = f.deleted_count + CASE WHEN '\\Deleted' = ANY (v_flags) THEN 1 ELSE 0 END,
                size_bytes = f.size_bytes + octet_length(p_raw)
            WHERE f.grant_id = p_grant AND f.id = p_folder
            RETURNING f.uid_next - 1, f.uid_validity INTO uid, uid_validity;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            message_id := replace(gen_random_uuid()::text, '-', '');
            PERFORM set_config('mail.folder_counts_by_caller', 'on', true);
            INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
            VALUES (p_grant, message_id, p_folder, uid, v_digest, thread_id, v_flags, p_modseq, p_modseq, v_internal_date,
                octet_length(p_raw), p_fact ->> 'message_id_header', p_fact ->> 'normalized_subject', p_now, p_now);
            PERFORM set_config('mail.folder_counts_by_caller', 'off', true);
        END $$
        """,
        """
        CREATE OR REPLACE FUNCTION mail_submit(p_grant uuid, p_now bigint, p_default_quota bigint, p_window bigint, p_sent_copy bytea,
                                               p_fact jsonb, p_transmit bytea, p_mail_from text, p_domains text[], p_recipients text[],
                                               p_draft text)
        RETURNS TABLE(r_message_id text, r_uid bigint, r_uid_validity bigint, r_modseq bigint, r_thread_id text, r_draft_deleted boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_freed bigint := 0;
            v_size bigint := octet_length(p_sent_copy);
            v_new record;
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            IF p_draft IS NOT NULL THEN
                SELECT m.size INTO v_freed FROM messages m WHERE m.grant_id = p_grant AND m.id = p_draft AND m.folder_id = 'drafts';
                IF NOT FOUND THEN RAISE EXCEPTION 'no such message' USING ERRCODE = 'MN004'; END IF;
                PERFORM mail_delete_for_good(p_grant, v_lock.modseq, p_now, ARRAY[p_draft], true);
            END IF;
            IF v_lock.used_bytes - v_freed + v_size > v_lock.limit_bytes THEN
                RAISE EXCEPTION '%', v_lock.limit_bytes USING ERRCODE = 'MN001';
            END IF;
            SELECT * INTO v_new FROM mail_insert_message(p_grant, v_lock.modseq, p_now, 'sent', p_sent_copy, p_fact, p_window);
            UPDATE grants g SET quota_used_bytes = g.quota_used_bytes + v_size, quota_message_count = g.quota_message_count + 1
            WHERE g.id = p_grant;
            PERFORM mail_message_events(p_grant, ARRAY[v_new.message_id], 'message.created', p_now);
            WITH queued AS (
                INSERT INTO outbound_messages (grant_id, sent_message_id, mail_from, raw, created_at)
                VALUES (p_grant, v_new.message_id, p_mail_from, p_transmit, p_now)
                RETURNING id)
            INSERT INTO outbound_jobs (outbound_message_id, grant_id, domain, recipients, next_attempt_at, created_at, updated_at)
            SELECT queued.id, p_grant, t.domain, string_to_array(t.recipients, E'\\n'), p_now * 1000, p_now, p_now
            FROM queued, unnest(p_domains, p_recipients) AS t(domain, recipients);
            RETURN QUERY SELECT v_new.message_id, v_new.uid, v_new.uid_validity, v_lock.modseq, v_new.thread_id, p_draft IS NOT NULL;
        END $$
        """,
    ]
}
