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

    /// The folder's index finds its rows; the saved date is read from each (no index holds it: the
    /// region's pass runs on one node at a time, hourly, and a write path keeps one index fewer).
    static func savedBeforeQuery(grant: GrantID, folderID: String, savedBefore: Int64, limit: Int) -> PostgresQuery {
        """
        SELECT id FROM messages
        WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND COALESCE(saved_at, created_at) < \(savedBefore)
        LIMIT \(limit)
        """
    }

    /// Runs `body` holding the session-level advisory lock `key` of this region's Postgres on a
    /// connection of its own (released with it, also when the node dies). `waitSeconds`: how long
    /// to wait for another holder to finish (0: not at all); nil when the lock was not taken.
    /// A lock that cannot be given back closes its connection, which gives it back.
    public func withRegionLock<Result: Sendable>(_ key: Int64, waitSeconds: Int = 0,
                                                 _ body: @escaping @Sendable () async throws -> Result) async throws -> Result? {
        let logger = self.logger
        return try await client.withConnection { connection in
            let deadline = ContinuousClock.now + .seconds(waitSeconds)
            var taken = false
            while true {
                for try await value in try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).decode(Bool.self) {
                    taken = value
                }
                if taken || ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            guard taken else { return nil }
            let result: Result
            do {
                result = try await body()
            } catch {
                await Self.unlock(key, connection, logger)
                throw error
            }
            await Self.unlock(key, connection, logger)
            return result
        }
    }

    private static func unlock(_ key: Int64, _ connection: PostgresConnection, _ logger: Logger) async {
        do {
            for try await _ in try await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger) {}
        } catch {
            logger.warning("advisory lock not given back; closing its connection", metadata: ["error": "\(error)"])
            try? await connection.close()
        }
    }
}
