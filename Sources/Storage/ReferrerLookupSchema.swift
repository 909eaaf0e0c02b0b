/// Migration version 37: the thread lookup by referrer finds the referring messages through the
/// GIN index whatever the statistics say.
///
/// Its condition names no grant column: the grant is inside the GIN key (`<grant> <reference>`,
/// migration 10). When the statistics said the mail tables were empty while they were not (after
/// many grants were deleted, until the next `ANALYZE`), the plan a connection kept walked the whole
/// `message_contents` primary key and evaluated the condition on every row of every grant: 45 ms for
/// each message stored, on a database of 6,000 messages. Without plain index scans the GIN index is
/// the only index that can answer the condition, so every plan starts there; the statement is a
/// function of its own so that the setting reaches no other lookup (the subject lookup needs its
/// index's order).
enum ReferrerLookupSchema {
    static let statements: [String] = [
        """
        CREATE FUNCTION mail_referrer_thread(p_grant uuid, p_header text) RETURNS text
        LANGUAGE plpgsql SET enable_indexscan = off AS $$
        DECLARE
            v_thread text;
        BEGIN
            SELECT m.thread_id INTO v_thread FROM message_contents c
            JOIN messages m ON m.grant_id = c.grant_id AND m.content_digest = c.digest
            WHERE mail_scoped_refs(c.grant_id, c.refs) @> ARRAY[p_grant::text || ' ' || p_header]
            LIMIT 1;
            RETURN v_thread;
        END $$
        """,
        """
        CREATE OR REPLACE FUNCTION mail_resolve_thread(p_grant uuid, p_fact jsonb, p_internal_date bigint, p_window bigint)
        RETURNS text LANGUAGE plpgsql AS $$
        DECLARE
            v_header text := p_fact ->> 'message_id_header';
            v_in_reply_to text[] := ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'in_reply_to'));
            v_refs text[] := ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'refs'));
            v_subject text := p_fact ->> 'normalized_subject';
            v_referenced text[];
            v_thread text;
            v_date bigint;
        BEGIN
            v_referenced := v_in_reply_to || v_refs || CASE WHEN v_header IS NULL THEN '{}'::text[] ELSE ARRAY[v_header] END;
            IF cardinality(v_referenced) > 0 THEN
                SELECT found.thread_id INTO v_thread
                FROM unnest(v_referenced) AS r(header)
                CROSS JOIN LATERAL (
                    SELECT m.thread_id, m.internal_date, m.id FROM messages m
                    WHERE m.grant_id = p_grant AND m.message_id_header = r.header
                    ORDER BY m.internal_date DESC, m.id LIMIT 1) AS found
                ORDER BY found.internal_date DESC, found.id LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            IF v_header IS NOT NULL THEN
                v_thread := mail_referrer_thread(p_grant, v_header);
                IF v_thread IS NOT NULL THEN RETURN v_thread; END IF;
            END IF;
            IF ((p_fact ->> 'reply_prefix')::boolean OR cardinality(v_in_reply_to) > 0 OR cardinality(v_refs) > 0)
               AND v_subject <> '' THEN
                SELECT m.thread_id, m.internal_date INTO v_thread, v_date FROM messages m
                WHERE m.grant_id = p_grant AND m.normalized_subject = v_subject AND m.normalized_subject <> ''
                  AND m.internal_date <= p_internal_date + p_window
                ORDER BY m.internal_date DESC, m.id LIMIT 1;
                IF FOUND AND v_date >= p_internal_date - p_window THEN RETURN v_thread; END IF;
            END IF;
            RETURN replace(gen_random_uuid()::text, '-', '');
        END $$
        """,
    ]
}
