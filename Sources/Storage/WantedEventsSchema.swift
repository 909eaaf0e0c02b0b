/// Migration version 11: the outbox keeps only the events some webhook takes.
///
/// Every write used to add an outbox row per message, which the fan-out then claimed and marked
/// dispatched even when no webhook wanted it: under the IMAP load those rows cost a fifth of
/// Postgres's time and grew the table by the million. Webhooks are few and read from a small table,
/// so each insert now asks first.
///
/// The rule: an event is kept when, as it commits, a webhook that is not paused names its type. A
/// webhook therefore sees events from its creation on, and a paused one none (the fan-out already
/// skipped paused webhooks, so nothing it would have sent is lost).
enum WantedEventsSchema {
    static let statements: [String] = [
        """
        CREATE FUNCTION webhook_event_wanted(p_type text) RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT EXISTS (SELECT 1 FROM webhooks w WHERE w.status <> 'pause' AND p_type = ANY (w.trigger_types))
        $$
        """,
        // One place for every writer of the outbox (grants, folders, sends, deletions).
        """
        CREATE FUNCTION event_outbox_keep_wanted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF webhook_event_wanted(NEW.type) THEN RETURN NEW; END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER event_outbox_keep_wanted BEFORE INSERT ON event_outbox
        FOR EACH ROW EXECUTE FUNCTION event_outbox_keep_wanted()
        """,
        // The hot path asks once per statement rather than once per row.
        """
        CREATE OR REPLACE FUNCTION mail_message_events(p_grant uuid, p_ids text[], p_type text, p_now bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT webhook_event_wanted(p_type) THEN RETURN; END IF;
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT m.grant_id, 'message', m.id, p_type,
                jsonb_build_object('folder_id', m.folder_id, 'flags', to_jsonb(m.flags)), p_now, p_now
            FROM messages m
            WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
            ORDER BY m.folder_id, m.uid;
        END $$
        """,
    ]
}
