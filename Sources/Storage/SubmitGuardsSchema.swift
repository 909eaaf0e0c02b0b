/// Migration version 39: a submission checks, in its own transaction, that its sender's
/// credentials and the rules it was checked against are still the current ones.
///
/// Each SMTP message read the grant's row before MAIL FROM was answered (a password change ends
/// the grant's sessions) and the rules' version before the rules were applied: two round trips of
/// five per message, for rows the submission's transaction reads anyway. `mail_submit` now takes
/// what the node saw: `p_credentials_version` (raises MN005 when the grant's credentials moved
/// since) and `p_rules_version` (raises MN006 when the region's policies, rules or workspaces
/// moved since), both under the grant's lock and before anything is written. NULL skips a check,
/// so a node not yet upgraded keeps submitting through the same function. The body is otherwise
/// version 33's, written out again: a migration's SQL stays as it was applied.
enum SubmitGuardsSchema {
    static let statements: [String] = [
        "DROP FUNCTION mail_submit(uuid, bigint, bigint, bigint, bytea, jsonb, bytea, text, text[], text[], text, text, bigint)",
        """
        CREATE FUNCTION mail_submit(p_grant uuid, p_now bigint, p_default_quota bigint, p_window bigint, p_sent_copy bytea,
                                    p_fact jsonb, p_transmit bytea, p_mail_from text, p_domains text[], p_recipients text[],
                                    p_draft text, p_lease_token text DEFAULT NULL, p_lease_end bigint DEFAULT NULL,
                                    p_credentials_version bigint DEFAULT NULL, p_rules_version bigint DEFAULT NULL)
        RETURNS TABLE(r_message_id text, r_uid bigint, r_uid_validity bigint, r_modseq bigint, r_thread_id text, r_draft_deleted boolean,
                      r_jobs bigint[])
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_freed bigint := 0;
            v_size bigint := octet_length(p_sent_copy);
            v_new record;
            v_jobs bigint[];
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            IF p_credentials_version IS NOT NULL THEN
                PERFORM 1 FROM grants g WHERE g.id = p_grant AND g.credentials_version = p_credentials_version;
                IF NOT FOUND THEN RAISE EXCEPTION 'credentials changed' USING ERRCODE = 'MN005'; END IF;
            END IF;
            IF p_rules_version IS NOT NULL THEN
                PERFORM 1 FROM guardrail_version v WHERE v.id = 1 AND v.version = p_rules_version;
                IF NOT FOUND THEN RAISE EXCEPTION 'rules changed' USING ERRCODE = 'MN006'; END IF;
            END IF;
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
                RETURNING id),
            jobs AS (
                INSERT INTO outbound_jobs (outbound_message_id, grant_id, domain, recipients, next_attempt_at, lease_token,
                                           created_at, updated_at)
                SELECT queued.id, p_grant, t.domain, string_to_array(t.recipients, E'\\n'),
                    CASE WHEN p_lease_token IS NULL THEN p_now * 1000 ELSE p_lease_end END, p_lease_token, p_now, p_now
                FROM queued, unnest(p_domains, p_recipients) AS t(domain, recipients)
                RETURNING id, domain)
            SELECT array_agg(jobs.id ORDER BY array_position(p_domains, jobs.domain)) INTO v_jobs FROM jobs;
            RETURN QUERY SELECT v_new.message_id, v_new.uid, v_new.uid_validity, v_lock.modseq, v_new.thread_id, p_draft IS NOT NULL,
                COALESCE(v_jobs, '{}');
        END $$
        """,
    ]
}
