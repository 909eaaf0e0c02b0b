/// The mail store's tables (migration version 2). Released versions are never edited: later
/// changes go into new versions.
///
/// Choices, and why:
/// * **One lock per grant.** Every mutating transaction starts with `UPDATE grants SET mail_modseq =
///   mail_modseq + 1`: the grant row is the mailbox's lock, its modseq counter and its quota counter
///   at once. Writes of one mailbox serialize (one mailbox sees few writers; Dovecot and Cyrus
///   serialize per mailbox too), writes of different grants never wait on each other, and since every
///   transaction takes the grant row first and folder rows after, they cannot deadlock.
/// * **Modseq per grant, HIGHESTMODSEQ per folder.** RFC 7162 only asks that a folder's modseqs
///   grow; one counter per grant gives that, lets the API ask "what changed in the grant", and costs
///   nothing more than the lock we take anyway. `folders.highest_modseq` is the last modseq that
///   touched the folder.
/// * **UIDs from `folders.uid_next`**, bumped inside the inserting transaction: under the grant lock
///   UIDs come out strictly ascending in commit order, never reused, with no gaps from rollbacks.
/// * **Bytes once per grant, content-addressed** (`message_contents`, keyed by SHA-256 of the
///   bytes): COPY and identical deliveries share one row. The parsed facts live beside the bytes:
///   they are a function of them. Postgres keeps big `raw` values out of line (TOAST), so reading
///   facts never reads the bytes.
/// * **One `messages` row per message in a folder**: the API object (`id`, kept across moves) and
///   the IMAP state (`uid`, `flags`, `modseq`). `arrived_modseq` tells additions from flag changes
///   in `changes(since:)`. Denormalized `message_id_header` and `normalized_subject` serve
///   deduplication and threading from the row's own indexes.
/// * **Expunges are tombstones** (`expunged_messages`): a UID that left a folder, with the modseq
///   of its leaving, so that QRESYNC `VANISHED`, IDLE and the API can ask for them.
/// * **Transactional outbox** (`event_outbox`): webhook events committed with the change;
///   dispatchers claim `pending` rows due now with `FOR UPDATE SKIP LOCKED` (partial index).
///   No foreign key to grants: a `grant.deleted` event outlives its grant.
/// * Quota used and message count are kept on the grant row, exact, in the same transactions;
///   `quota_limit_bytes` NULL means the store's configured default.
enum MailStoreSchema {
    static let statements: [String] = [
        """
        ALTER TABLE grants
            ADD COLUMN mail_modseq bigint NOT NULL DEFAULT 1,
            ADD COLUMN quota_used_bytes bigint NOT NULL DEFAULT 0,
            ADD COLUMN quota_message_count bigint NOT NULL DEFAULT 0,
            ADD COLUMN quota_limit_bytes bigint
        """,
        // UIDVALIDITY of folders created after the grant: strictly increasing across the region, so a
        // folder deleted and created again under the same name never shows an old value (RFC 9051 2.3.1.1).
        "CREATE SEQUENCE folder_uid_validity MAXVALUE 4294967295",
        "SELECT setval('folder_uid_validity', extract(epoch FROM now())::bigint)",
        """
        CREATE TABLE message_contents (
            grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
            digest bytea NOT NULL,
            raw bytea NOT NULL,
            size bigint NOT NULL,
            message_id_header text,
            in_reply_to text[] NOT NULL,
            refs text[] NOT NULL,
            subject text,
            normalized_subject text NOT NULL,
            subject_reply_prefix boolean NOT NULL,
            from_json jsonb NOT NULL,
            to_json jsonb NOT NULL,
            cc_json jsonb NOT NULL,
            bcc_json jsonb NOT NULL,
            reply_to_json jsonb NOT NULL,
            sent_date bigint,
            snippet text NOT NULL,
            has_attachments boolean NOT NULL,
            envelope text NOT NULL,
            body_structure text NOT NULL,
            body text NOT NULL,
            extra jsonb NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (grant_id, digest)
        )
        """,
        // A reply that arrives before the message it answers: find the known children by their References.
        "CREATE INDEX message_contents_refs ON message_contents USING gin (refs)",
        """
        CREATE TABLE messages (
            grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
            id text NOT NULL,
            folder_id text NOT NULL,
            uid bigint NOT NULL,
            content_digest bytea NOT NULL,
            thread_id text NOT NULL,
            flags text[] NOT NULL,
            modseq bigint NOT NULL,
            arrived_modseq bigint NOT NULL,
            internal_date bigint NOT NULL,
            size bigint NOT NULL,
            message_id_header text,
            normalized_subject text NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            PRIMARY KEY (grant_id, id),
            UNIQUE (grant_id, folder_id, uid),
            FOREIGN KEY (grant_id, folder_id) REFERENCES folders (grant_id, id),
            FOREIGN KEY (grant_id, content_digest) REFERENCES message_contents (grant_id, digest)
        )
        """,
        "CREATE INDEX messages_message_id ON messages (grant_id, message_id_header) WHERE message_id_header IS NOT NULL",
        "CREATE INDEX messages_thread ON messages (grant_id, thread_id)",
        "CREATE INDEX messages_folder_modseq ON messages (grant_id, folder_id, modseq)",
        "CREATE INDEX messages_subject ON messages (grant_id, normalized_subject, internal_date) WHERE normalized_subject <> ''",
        "CREATE INDEX messages_folder_date ON messages (grant_id, folder_id, internal_date DESC, id DESC)",
        "CREATE INDEX messages_date ON messages (grant_id, internal_date DESC, id DESC)",
        "CREATE INDEX messages_content ON messages (grant_id, content_digest)",
        """
        CREATE TABLE expunged_messages (
            grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
            folder_id text NOT NULL,
            uid bigint NOT NULL,
            modseq bigint NOT NULL,
            message_id text NOT NULL,
            PRIMARY KEY (grant_id, folder_id, uid)
        )
        """,
        "CREATE INDEX expunged_messages_modseq ON expunged_messages (grant_id, folder_id, modseq)",
        """
        CREATE TABLE event_outbox (
            id bigserial PRIMARY KEY,
            grant_id uuid NOT NULL,
            object_type text NOT NULL,
            object_id text NOT NULL,
            type text NOT NULL,
            payload jsonb NOT NULL,
            created_at bigint NOT NULL,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at bigint NOT NULL,
            delivered_at bigint,
            last_error text
        )
        """,
        "CREATE INDEX event_outbox_due ON event_outbox (next_attempt_at, id) WHERE state = 'pending'",
        "CREATE INDEX event_outbox_grant ON event_outbox (grant_id, id)",
    ]
}
