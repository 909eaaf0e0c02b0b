/// Webhook subscriptions, their deliveries and the outbound mail queue (migration version 3).
///
/// Choices, and why:
/// * **Webhooks live in every region's Postgres**, written to each at once by the API, so that a
///   region's dispatchers need nothing from another region to deliver that region's events.
/// * **Events fan out once** (`event_outbox.state` `pending` -> `dispatched`) into one
///   `webhook_deliveries` row per subscribed webhook; each row then succeeds or fails on its own.
/// * **A webhook row is the claim.** A dispatcher locks one webhook (`FOR NO KEY UPDATE SKIP
///   LOCKED`, which does not block the fan-out's foreign-key checks) for the length of its batch:
///   one webhook's events go out one at a time, in event order, from one node at a time, and a
///   dispatcher that dies releases the lock with its connection. The retry schedule lives on the
///   webhook too (`retry_at_ms`, `consecutive_failures`), because a failing head blocks the rest.
/// * **The outbound queue** holds the bytes to transmit once (`outbound_messages`, Bcc already
///   removed) and one job per recipient domain (`outbound_jobs`), claimed by delivery workers.
enum DeliverySchema {
    static let statements: [String] = [
        "ALTER TABLE event_outbox DROP CONSTRAINT event_outbox_state_check",
        "ALTER TABLE event_outbox ADD CONSTRAINT event_outbox_state_check CHECK (state IN ('pending', 'dispatched', 'delivered', 'failed'))",
        "DROP INDEX event_outbox_due",
        "CREATE INDEX event_outbox_pending ON event_outbox (id) WHERE state = 'pending'",
        """
        CREATE TABLE webhooks (
            id text PRIMARY KEY,
            url text NOT NULL,
            description text,
            trigger_types text[] NOT NULL,
            notification_email_addresses text[] NOT NULL,
            secret text NOT NULL,
            status text NOT NULL CHECK (status IN ('active', 'failing', 'pause')),
            status_updated_at bigint NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            consecutive_failures integer NOT NULL DEFAULT 0,
            retry_at_ms bigint NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE webhook_deliveries (
            webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            event_id bigint NOT NULL REFERENCES event_outbox (id) ON DELETE CASCADE,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            first_attempt_at bigint,
            delivered_at_ms bigint,
            last_error text,
            created_at bigint NOT NULL,
            PRIMARY KEY (webhook_id, event_id)
        )
        """,
        "CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_id) WHERE state = 'pending'",
        "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
        """
        CREATE TABLE outbound_messages (
            id bigserial PRIMARY KEY,
            grant_id uuid NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
            sent_message_id text NOT NULL,
            mail_from text NOT NULL,
            raw bytea NOT NULL,
            created_at bigint NOT NULL
        )
        """,
        """
        CREATE TABLE outbound_jobs (
            id bigserial PRIMARY KEY,
            outbound_message_id bigint NOT NULL REFERENCES outbound_messages (id) ON DELETE CASCADE,
            grant_id uuid NOT NULL,
            domain text NOT NULL,
            recipients text[] NOT NULL,
            state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'delivered', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at bigint NOT NULL,
            last_error text,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL
        )
        """,
        "CREATE INDEX outbound_jobs_due ON outbound_jobs (next_attempt_at, id) WHERE state = 'queued'",
        "CREATE INDEX outbound_jobs_message ON outbound_jobs (outbound_message_id)",
    ]
}
