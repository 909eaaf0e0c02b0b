/// Migration version 40: the attempt that delivers a message's only job to every recipient, when no
/// webhook takes an event of it, removes the queued message in one delete.
///
/// That is the common end of a submission: one domain, delivered on the first attempt. The
/// function updated the job's row (its recipients, attempts, outcome and state, every index of the
/// row written again), then found the job to be the message's last and deleted the message, and the
/// job with it. The update was about a third of the function's time, written only to be deleted.
/// Now the job is locked by its lease, then the message; when the message has no other job, it is
/// deleted. Any other attempt, a message of several jobs, or an event some webhook takes goes the
/// way of migration 38, whose text follows unchanged (a migration's SQL stays as it was applied).
enum DeliveredRecordSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_outbound_record(p_job bigint, p_token text, p_grant uuid, p_sent_message text,
                                                        p_remaining text[], p_attempts bigint, p_now bigint, p_delivered text[],
                                                        p_failed jsonb, p_last_error text, p_next_attempt bigint, p_finished boolean,
                                                        p_delivery jsonb, p_bounce jsonb) RETURNS text
        LANGUAGE plpgsql AS $$
        DECLARE
            v_state text;
            v_message bigint;
            v_queued bigint;
            v_delivered text[];
            v_failed jsonb;
            v_earlier_failures jsonb;
        BEGIN
            IF p_finished AND jsonb_array_length(p_failed) = 0 AND p_bounce IS NULL
               AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.status <> 'pause'
                               AND w.trigger_types && ARRAY['message.delivered', 'message.send_success', 'message.send_failed'])
            THEN
                -- The same locks in the same order as below: the job (by its lease), then the message.
                SELECT j.outbound_message_id, j.failed_recipients INTO v_message, v_earlier_failures
                FROM outbound_jobs j WHERE j.id = p_job AND j.lease_token = p_token FOR UPDATE;
                IF NOT FOUND THEN RETURN NULL; END IF;
                IF jsonb_array_length(v_earlier_failures) = 0 THEN
                    PERFORM 1 FROM outbound_messages m WHERE m.id = v_message FOR UPDATE;
                    IF FOUND AND NOT EXISTS (SELECT 1 FROM outbound_jobs j WHERE j.outbound_message_id = v_message AND j.id <> p_job) THEN
                        -- Its bytes were only kept to be transmitted; the stored Sent copy remains.
                        -- The job goes with it (ON DELETE CASCADE).
                        DELETE FROM outbound_messages m WHERE m.id = v_message;
                        RETURN 'delivered';
                    END IF;
                END IF;
            END IF;

            UPDATE outbound_jobs j SET recipients = p_remaining, attempts = p_attempts, updated_at = p_now,
                delivered_recipients = j.delivered_recipients || p_delivered,
                failed_recipients = j.failed_recipients || p_failed,
                last_error = COALESCE(p_last_error, j.last_error), next_attempt_at = p_next_attempt,
                state = CASE WHEN p_finished THEN
                    (CASE WHEN jsonb_array_length(j.failed_recipients || p_failed) = 0 THEN 'delivered' ELSE 'failed' END)
                    ELSE 'queued' END,
                lease_token = NULL
            WHERE j.id = p_job AND j.lease_token = p_token
            RETURNING j.state, j.outbound_message_id INTO v_state, v_message;
            IF NOT FOUND THEN RETURN NULL; END IF;

            -- An event that no webhook takes costs no read of the Sent copy.
            IF p_delivery IS NOT NULL OR p_bounce IS NOT NULL THEN
                INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
                SELECT p_grant, 'message', p_sent_message, e.type,
                    jsonb_build_object('message', COALESCE(
                        (SELECT jsonb_build_object('id', m.id, 'grant_id', m.grant_id::text, 'thread_id', m.thread_id,
                                                   'subject', c.subject, 'from', c.from_json, 'to', c.to_json, 'cc', c.cc_json,
                                                   'bcc', c.bcc_json, 'sent_at', COALESCE(c.sent_date, m.internal_date))
                         FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
                         WHERE m.grant_id = p_grant AND m.id = p_sent_message),
                        jsonb_build_object('id', p_sent_message)),
                        e.key, e.detail),
                    p_now, p_now
                FROM (VALUES ('message.delivered', 'delivery', p_delivery), ('message.bounced', 'bounce', p_bounce))
                    AS e (type, key, detail)
                WHERE e.detail IS NOT NULL AND webhook_event_wanted(e.type);
            END IF;
            IF v_state = 'queued' THEN RETURN v_state; END IF;

            -- The message's row is the lock that makes two of its jobs ending at once agree on which
            -- of them is the last.
            PERFORM 1 FROM outbound_messages m WHERE m.id = v_message FOR UPDATE;
            IF NOT FOUND THEN RETURN v_state; END IF;
            SELECT count(*) FILTER (WHERE j.state = 'queued') INTO v_queued FROM outbound_jobs j WHERE j.outbound_message_id = v_message;
            IF v_queued > 0 THEN RETURN v_state; END IF;
            -- The outcome of every job is read only for an event some webhook takes.
            IF webhook_event_wanted('message.send_success') OR webhook_event_wanted('message.send_failed') THEN
                SELECT coalesce(array_agg(r ORDER BY r), '{}') INTO v_delivered
                FROM outbound_jobs j, unnest(j.delivered_recipients) AS r WHERE j.outbound_message_id = v_message;
                SELECT coalesce(jsonb_agg(f), '[]'::jsonb) INTO v_failed
                FROM outbound_jobs j, jsonb_array_elements(j.failed_recipients) AS f WHERE j.outbound_message_id = v_message;
                INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
                VALUES (p_grant, 'message', p_sent_message,
                    CASE WHEN jsonb_array_length(v_failed) = 0 THEN 'message.send_success' ELSE 'message.send_failed' END,
                    jsonb_build_object('object', 'message', 'id', p_sent_message, 'grant_id', p_grant::text,
                        'delivered_recipients', to_jsonb(v_delivered), 'failed_recipients', v_failed),
                    p_now, p_now);
            END IF;
            -- Its bytes were only kept to be transmitted; the stored Sent copy remains.
            DELETE FROM outbound_messages m WHERE m.id = v_message;
            RETURN v_state;
        END $$
        """,
    ]
}
