import Logging
import MailCore
import PostgresNIO

/// Removing mail past a retention period: messages that have been in a folder since before a
/// moment go for good, as an expunge would take them (IMAP sessions see them vanish, QRESYNC
/// clients learn of it, webhooks get `message.deleted`). How long a message has been in its folder
/// counts, not the date it carries: mail moved into Junk today is kept the whole spam period.
extension PostgresMailStore {
    /// Deletes at most `limit` messages of the folder saved in it before `savedBefore`; returns
    /// how many went. A folder with none costs one read and no write.
    public func removeMessages(grant: GrantID, folderID: String, savedBefore: Int64, limit: Int) async throws -> Int {
        let logger = self.logger
        let query = Self.savedBeforeQuery(grant: grant, folderID: folderID, savedBefore: savedBefore, limit: limit)
        let any = try await read { connection in
            let rows = try await connection.query(query, logger: logger)
            var found = false
            for try await _ in rows.decode(String.self) { found = true }
            return found
        }
        guard any else { return 0 }
        return try await mutate(grant) { connection, lock in
            // Read again under the grant lock: another node's pass may have taken them meanwhile.
            let rows = try await connection.query(query, logger: logger)
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: ids, tombstones: true)
            return (ids.count, ids.isEmpty ? [] : [Announcement(folderID: folderID, modseq: lock.modseq)])
        }
    }

    /// Served by the folder's index; the saved date is read from the rows of that folder only.
    static func savedBeforeQuery(grant: GrantID, folderID: String, savedBefore: Int64, limit: Int) -> PostgresQuery {
        """
        SELECT id FROM messages
        WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND COALESCE(saved_at, created_at) < \(savedBefore)
        LIMIT \(limit)
        """
    }
}
