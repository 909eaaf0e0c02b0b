import MailCore
import NIOCore
import PostgresNIO

/// The `mailbox_metadata` table (see `MetadataSchema`). Entries are not mailbox state: they take no
/// grant lock and bump no modseq; a per-grant advisory lock keeps the entry count exact.
extension PostgresMailStore {
    public func annotations(grant: GrantID, folderID: String?, under names: [String], descendants: Bool) async throws -> [MailboxAnnotation] {
        guard !names.isEmpty else { return [] }
        let logger = self.logger
        let below = descendants ? names.map { $0 + "/" } : []
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT name, value FROM mailbox_metadata
                WHERE grant_id = \(grant.rawValue)::uuid AND folder_key = COALESCE(\(folderID)::text, '')
                  AND (name = ANY(\(names)::text[]) OR EXISTS (SELECT 1 FROM unnest(\(below)::text[]) AS b(prefix)
                                                             WHERE starts_with(name, b.prefix)))
                ORDER BY name
                """, logger: logger)
            var found: [MailboxAnnotation] = []
            for try await (name, value) in rows.decode((String, ByteBuffer).self) {
                found.append(MailboxAnnotation(name: name, value: Array(value.readableBytesView)))
            }
            return found
        }
    }

    public func setAnnotations(grant: GrantID, folderID: String?, _ annotations: [MailboxAnnotation], limit: Int) async throws -> Bool {
        let logger = self.logger
        do {
            try await transaction { connection in
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended('mailbox_metadata:' || \(grant.rawValue), 0))", logger: logger)
                let before = try await Self.annotationCount(connection, logger: logger, grant: grant)
                for annotation in annotations {
                    if let value = annotation.value {
                        try await connection.query(
                            """
                            INSERT INTO mailbox_metadata (grant_id, folder_id, name, value)
                            VALUES (\(grant.rawValue)::uuid, \(folderID)::text, \(annotation.name), \(ByteBuffer(bytes: value)))
                            ON CONFLICT (grant_id, folder_key, name) DO UPDATE SET value = EXCLUDED.value
                            """, logger: logger)
                    } else {
                        try await connection.query(
                            """
                            DELETE FROM mailbox_metadata WHERE grant_id = \(grant.rawValue)::uuid
                              AND folder_key = COALESCE(\(folderID)::text, '') AND name = \(annotation.name)
                            """, logger: logger)
                    }
                }
                // Only a change that adds entries can pass the limit: removing stays possible above it.
                let after = try await Self.annotationCount(connection, logger: logger, grant: grant)
                if after > limit, after > before { throw AnnotationLimitExceeded() }
            }
            return true
        } catch is AnnotationLimitExceeded {
            return false
        } catch where PostgresErrors.sqlState(error) == "23503" {
            // The folder (or the grant) went away since the session looked it up.
            throw folderID == nil ? MailStoreError.noSuchGrant : MailStoreError.noSuchFolder
        }
    }
}

extension PostgresMailStore {
    static func annotationCount(_ connection: PostgresConnection, logger: Logger, grant: GrantID) async throws -> Int {
        let rows = try await connection.query("SELECT count(*) FROM mailbox_metadata WHERE grant_id = \(grant.rawValue)::uuid", logger: logger)
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        return count
    }
}

/// Rolls the transaction back when the entries would exceed the grant's limit.
private struct AnnotationLimitExceeded: Error {}
