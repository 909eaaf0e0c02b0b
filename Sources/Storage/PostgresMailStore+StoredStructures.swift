import MailCore
import NIOCore
import PostgresNIO

/// A stored message whose IMAP structures were rendered by an older reading of MIME.
public struct StaleStructure: Sendable {
    public let grant: GrantID
    public let digest: [UInt8]
    public let raw: [UInt8]
}

/// The rows `StoredStructureSchema` marks as rendered by an older reading, and their update.
extension PostgresMailStore {
    /// Up to `limit` messages whose structures are older than this build's, from any grant.
    public func staleStructures(limit: Int) async throws -> [StaleStructure] {
        let logger = self.logger
        return try await read { connection in
            // The predicate is the partial index's, written the same way so the index serves it.
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT grant_id::text, digest, raw FROM message_contents
                WHERE structure_version < \(StoredStructureSchema.currentVersion)
                LIMIT \(max(1, limit))
                """), logger: logger)
            var stale: [StaleStructure] = []
            for try await (grant, digest, raw) in rows.decode((String, ByteBuffer, ByteBuffer).self) {
                guard let grant = GrantID(rawValue: grant) else { continue }
                stale.append(StaleStructure(grant: grant, digest: Array(digest.readableBytesView), raw: Array(raw.readableBytesView)))
            }
            return stale
        }
    }

    /// Stores structures rendered again from the message's bytes, and marks the row current.
    /// Idempotent: two nodes rendering the same row write the same values.
    public func saveStructures(grant: GrantID, digest: [UInt8], envelope: String, bodyStructure: String, body: String) async throws {
        let logger = self.logger
        let version = StoredStructureSchema.currentVersion
        // Postgres text holds no NUL (the rendering never writes one; a row must not fail on it).
        func text(_ value: String) -> String { value.contains("\u{0}") ? String(value.filter { $0 != "\u{0}" }) : value }
        let (envelope, bodyStructure, body) = (text(envelope), text(bodyStructure), text(body))
        try await read { connection in
            _ = try await connection.query(
                """
                UPDATE message_contents SET envelope = \(envelope), body_structure = \(bodyStructure), body = \(body),
                       structure_version = \(version)
                WHERE grant_id = \(grant.rawValue)::uuid AND digest = \(ByteBuffer(bytes: digest))
                """, logger: logger)
        }
    }
}
