/// Migration version 7: message events carry facts, not the API object.
///
/// Choices, and why:
/// * **A message event records what was true when it happened**: the message's folder and flags
///   (`{"folder_id": ..., "flags": [...]}`), with its id and type on the row. Everything else a
///   message shows (subject, participants, body, attachments) is fixed by its bytes, so the webhook
///   dispatcher renders the object when it sends, with the same code as the REST API, and lays the
///   event's folder and flags over it. Building the API object in SQL on every write cost about a
///   sixth of the database's time under the IMAP load.
/// * **A deleted message leaves its events a snapshot of its content** (`"snapshot"`, the object as
///   the old payload had it), taken in the deleting transaction (`mail_delete_for_good`, and grant
///   deletion), found through an index on the event's object; the dispatcher renders from it. Every
///   event of the message still in the outbox gets one, whatever its state: one that is being fanned
///   out at that moment must not miss it.
/// * A draft's bytes can be replaced under the same id (`replaceMessage`); its events then show the
///   draft as it is when they are sent, and each replacement has its own `message.updated`.
/// * Rows written before this version hold the whole object and are sent as they are.
enum EventFactsSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_message_events(p_grant uuid, p_ids text[], p_type text, p_now bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            -- PL/pgSQL rather than SQL: the statement's plan is kept for the connection.
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT m.grant_id, 'message', m.id, p_type,
                jsonb_build_object('folder_id', m.folder_id, 'flags', to_jsonb(m.flags)), p_now, p_now
            FROM messages m
            WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
            ORDER BY m.folder_id, m.uid;
        END $$
        """,
        "CREATE INDEX event_outbox_object ON event_outbox (grant_id, object_id) WHERE object_type = 'message'",
        """
        CREATE OR REPLACE FUNCTION mail_delete_for_good(p_grant uuid, p_modseq bigint, p_now bigint, p_ids text[], p_tombstones boolean)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            v_bytes bigint;
            v_count bigint;
            v_digests bytea[];
        BEGIN
            IF cardinality(p_ids) = 0 THEN RETURN; END IF;
            UPDATE event_outbox e SET payload = e.payload || jsonb_build_object('snapshot', mail_message_payload(m, c))
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
              AND e.grant_id = p_grant AND e.object_type = 'message' AND e.object_id = m.id
              AND e.type IN ('message.created', 'message.updated') AND e.payload ? 'folder_id'
              AND NOT e.payload ? 'snapshot';
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT p_grant, 'message', t.id, 'message.deleted',
                jsonb_build_object('object', 'message', 'id', t.id, 'grant_id', p_grant::text), p_now, p_now
            FROM unnest(p_ids) WITH ORDINALITY AS t(id, n) ORDER BY t.n;
            IF p_tombstones THEN
                WITH gone AS (
                    INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
                    SELECT m.grant_id, m.folder_id, m.uid, p_modseq, m.id FROM messages m
                    WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
                    RETURNING folder_id)
                UPDATE folders f SET highest_modseq = p_modseq
                WHERE f.grant_id = p_grant AND f.id IN (SELECT folder_id FROM gone);
            END IF;
            WITH deleted AS (
                DELETE FROM messages m WHERE m.grant_id = p_grant AND m.id = ANY (p_ids) RETURNING m.size, m.content_digest)
            SELECT COALESCE(sum(size), 0), count(*), array_agg(DISTINCT content_digest) INTO v_bytes, v_count, v_digests
            FROM deleted;
            UPDATE grants g SET quota_used_bytes = g.quota_used_bytes - v_bytes, quota_message_count = g.quota_message_count - v_count
            WHERE g.id = p_grant;
            DELETE FROM message_contents c
            WHERE c.grant_id = p_grant AND c.digest = ANY (v_digests)
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.grant_id = c.grant_id AND m.content_digest = c.digest);
        END $$
        """,
    ]
}
