/// Migration version 10: the lookups that thread an arriving message, each served by one index
/// whatever plan Postgres keeps for them.
///
/// PL/pgSQL keeps one plan per statement, and after a few calls a generic one, chosen without the
/// values. Three lookups then read every message of the grant, so each APPEND slowed down as the
/// grant grew (the bitmap scans of a MULTIAPPEND of 1,000 messages dominated its profile):
/// * by reference (`message_id_header = ANY (refs)`): the generic plan scanned the grant's
///   Message-ID index and filtered; each reference is now its own index lookup;
/// * by referrer (`refs @> ARRAY[header]`): the plan combined the GIN index with the grant's
///   primary-key range; the GIN index now holds references scoped by grant (`<grant> <ref>`), so
///   one GIN lookup finds exactly the grant's referrers;
/// * by subject: the partial subject index could not serve a generic plan (nothing told it the
///   subject is not empty), so the plan walked the grant's messages by date; the query now says so,
///   and the index is in the order of the answer.
enum ThreadLookupSchema {
    static let statements: [String] = [
        """
        CREATE FUNCTION mail_scoped_refs(p_grant uuid, p_refs text[]) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT ARRAY(SELECT p_grant::text || ' ' || r FROM unnest(p_refs) AS r)
        $$
        """,
        """
        CREATE INDEX message_contents_scoped_refs ON message_contents
            USING gin (mail_scoped_refs(grant_id, refs)) WITH (fastupdate = off)
        """,
        "DROP INDEX IF EXISTS message_contents_refs",
        """
        CREATE INDEX messages_subject_latest ON messages (grant_id, normalized_subject, internal_date DESC, id)
            WHERE normalized_subject <> ''
        """,
        "DROP INDEX IF EXISTS messages_subject",
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
                SELECT m.thread_id INTO v_thread FROM message_contents c
                JOIN messages m ON m.grant_id = c.grant_id AND m.content_digest = c.digest
                WHERE mail_scoped_refs(c.grant_id, c.refs) @> ARRAY[p_grant::text || ' ' || v_header]
                LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            IF ((p_fact ->> 'reply_prefix')::boolean OR cardinality(v_in_reply_to) > 0 OR cardinality(v_refs) > 0)
               AND v_subject <> '' THEN
                SELECT m.thread_id INTO v_thread FROM messages m
                WHERE m.grant_id = p_grant AND m.normalized_subject = v_subject AND m.normalized_subject <> ''
                  AND m.internal_date BETWEEN p_internal_date - p_window AND p_internal_date + p_window
                ORDER BY m.internal_date DESC, m.id LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            RETURN replace(gen_random_uuid()::text, '-', '');
        END $$
        """,
    ]
}
