import Logging
import MailCore
import PostgresNIO

extension PostgresMailStore {
    /// The largest page `listThreads` returns.
    public static let maximumThreadPageSize = 200
    /// The most messages read for one thread.
    public static let maximumThreadMessages = 1000

    public func listThreads(grant: GrantID, folderID: String?, cursor: String?, limit: Int) async throws -> ThreadPage {
        let pageSize = max(1, min(limit, Self.maximumThreadPageSize))
        let after = try PageCursor.parse(cursor)
        let logger = self.logger
        return try await readSnapshot { connection in
            let (afterDate, afterID) = (after?.date, after?.id)
            if let folderID {
                _ = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID])
            }
            let rows = try await connection.query(
                """
                SELECT thread_id, max(internal_date) AS latest FROM messages
                WHERE grant_id = \(grant.rawValue)::uuid
                GROUP BY thread_id
                HAVING (\(folderID)::text IS NULL OR bool_or(folder_id = \(folderID)::text))
                   AND (\(afterDate)::bigint IS NULL OR (max(internal_date), thread_id) < (\(afterDate)::bigint, \(afterID)::text))
                ORDER BY latest DESC, thread_id DESC
                LIMIT \(pageSize + 1)
                """, logger: logger)
            var page: [(String, Int64)] = []
            for try await (thread, latest) in rows.decode((String, Int64).self) { page.append((thread, latest)) }
            var next: String?
            if page.count > pageSize {
                page.removeLast()
                if let last = page.last { next = PageCursor(date: last.1, id: last.0).text }
            }
            let messages = try await Self.selectThreadMessages(connection, logger: logger, grant: grant, threadIDs: page.map(\.0))
            let grouped = Dictionary(grouping: messages, by: \.threadID)
            return ThreadPage(threads: page.compactMap { grouped[$0.0] }, nextCursor: next)
        }
    }

    public func threadMessages(grant: GrantID, threadID: String) async throws -> [StoredMessage] {
        let logger = self.logger
        return try await read { connection in
            try await Self.selectThreadMessages(connection, logger: logger, grant: grant, threadIDs: [threadID])
        }
    }

    static func selectThreadMessages(_ connection: PostgresConnection, logger: Logger, grant: GrantID,
                                     threadIDs: [String]) async throws -> [StoredMessage] {
        guard !threadIDs.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT \(unescaped: messageColumns)
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = \(grant.rawValue)::uuid AND m.thread_id = ANY(\(threadIDs)::text[])
            ORDER BY m.internal_date, m.id
            LIMIT \(maximumThreadMessages * threadIDs.count)
            """, logger: logger)
        var messages: [StoredMessage] = []
        for try await row in rows { messages.append(try decodeMessage(row, grant: grant, includeRaw: false)) }
        return messages
    }
}
