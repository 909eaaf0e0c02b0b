/// Migration version 8: IMAP subscriptions (RFC 3501 6.3.6, 6.3.7, 6.3.9).
///
/// Choices, and why:
/// * **Names, not folders.** A subscription is a name in the grant's list, kept when the mailbox is
///   renamed or deleted (RFC 3501 6.3.4, 6.3.5 leave the list to the client), so a row does not
///   reference a folder. Names are stored decoded, as folder names are.
/// * **Every folder existing when the table is made is subscribed**: before this version LSUB listed
///   every folder, and clients that show only subscribed folders must keep showing them.
/// * Grants made afterwards start with their system folders subscribed (`PostgresGrantStore`).
enum SubscriptionSchema {
    static let statements: [String] = [
        """
        CREATE TABLE subscriptions (
            grant_id uuid NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
            name text NOT NULL,
            PRIMARY KEY (grant_id, name)
        )
        """,
        "INSERT INTO subscriptions (grant_id, name) SELECT grant_id, name FROM folders",
    ]
}
