import MailCore
import PostgresNIO

/// IMAP `\Recent` (RFC 3501 2.3.2) as one counter per folder, `folders.first_recent_uid`: messages
/// from that UID on are recent and unclaimed. A claim moves the counter past the UIDs a session has
/// seen, in one statement on the folder's row, so two sessions on two nodes can never both claim a
/// message. Messages arrive with ascending UIDs, so every surface (IMAP, SMTP, the API) makes
/// recent mail just by adding it.
extension PostgresMailStore {
    public func claimRecent(grant: GrantID, folderID: String, through uid: Int64) async throws -> Int64? {
        let logger = self.logger
        return try await read { connection in
            // The row lock of the UPDATE orders concurrent claims; the sub-select reads the value the
            // winning UPDATE replaced, under that same lock. The sub-select locks the row only when
            // there is something to claim: a lock is a write, and a transaction that wrote waits for
            // its commit to reach the disk, which every SELECT of an unchanged mailbox paid.
            let rows = try await connection.query(
                """
                UPDATE folders f SET first_recent_uid = \(uid) + 1
                FROM (SELECT first_recent_uid FROM folders
                      WHERE grant_id = \(grant.rawValue)::uuid AND id = \(folderID) AND first_recent_uid <= \(uid)
                      FOR UPDATE) AS before
                WHERE f.grant_id = \(grant.rawValue)::uuid AND f.id = \(folderID) AND before.first_recent_uid <= \(uid)
                RETURNING before.first_recent_uid
                """, logger: logger)
            var first: Int64?
            for try await value in rows.decode(Int64.self) { first = value }
            return first
        }
    }

    public func recentCount(grant: GrantID, folderID: String, above uid: Int64) async throws -> Int {
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT count(*) FROM messages m JOIN folders f ON f.grant_id = m.grant_id AND f.id = m.folder_id
                WHERE m.grant_id = \(grant.rawValue)::uuid AND m.folder_id = \(folderID) AND m.uid >= f.first_recent_uid AND m.uid > \(uid)
                """, logger: logger)
            var count = 0
            for try await value in rows.decode(Int.self) { count = value }
            return count
        }
    }
}
