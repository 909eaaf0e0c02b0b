/// Migration version 22: IMAP METADATA entries (RFC 5464), per mailbox and per grant.
///
/// Choices, and why:
/// * **Keyed by folder id**, so that RENAME carries a mailbox's entries and DELETE (through IMAP or
///   the API) drops them by the foreign key's cascade, as RFC 5464 section 3.1 asks.
/// * **A NULL folder is the grant's own ("server") entries**; `folder_key` turns it into `''` so
///   that one primary key covers both kinds.
enum MetadataSchema {
    static let statements: [String] = [
        """
        CREATE TABLE mailbox_metadata (
            grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
            folder_id text,
            folder_key text GENERATED ALWAYS AS (COALESCE(folder_id, '')) STORED,
            name text NOT NULL,
            value bytea NOT NULL,
            PRIMARY KEY (grant_id, folder_key, name),
            FOREIGN KEY (grant_id, folder_id) REFERENCES folders(grant_id, id) ON DELETE CASCADE
        )
        """,
    ]
}
