import MailCore
import NIOCore
import PostgresNIO

/// A stored message whose IMAP structures were rendered by an older reading of MIME.
public struct StaleStructure: Sendable, Hashable {
    public let grant: GrantID
    public let digest: [UInt8]
}

/// The rows `StoredStructureSchema` marks as rendered by an older reading, and their update.
extension PostgresMailStore {
    /// Up to `limit` messages whose structures are older than this build's, from any grant, in key
    /// order after `after` (so that a row that cannot be rendered is passed over, not read forever).
    /// Keys only: the bytes, up to the message size limit each, are read one message at a time.
    public func staleStructures(after: StaleStructure?, limit: Int) async throws -> [StaleStructure] {
        let logger = self.logger
        let version = StoredStructureSchema.currentVersion
        return try await read { connection in
            // The predicate is the partial index's, written the same way so the index serves it.
            let from = after ?? StaleStructure(grant: GrantID(rawValue: "00000000-0000-0000-0000-000000000000")!, digest: [])
            let query: PostgresQuery = """
                SELECT grant_id::text, digest FROM message_contents
                WHERE structure_version < \(unescaped: "\(version)")
                  AND (grant_id, digest) > (\(from.grant.rawValue)::uuid, \(ByteBuffer(bytes: from.digest)))
                ORDER BY grant_id, digest LIMIT \(max(1, limit))
                """
            let rows = try await connection.query(query, logger: logger)
            var stale: [StaleStructure] = []
            for try await (grant, digest) in rows.decode((String, ByteBuffer).self) {
                guard let grant = GrantID(rawValue: grant) else { continue }
                stale.append(StaleStructure(grant: grant, digest: Array(digest.readableBytesView)))
            }
            return stale
        }
    }

    /// The stored bytes of one message; nil when it is gone.
    public func storedBytes(of stale: StaleStructure) async throws -> [UInt8]? {
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT raw FROM message_contents WHERE grant_id = \(stale.grant.rawValue)::uuid AND digest = \(ByteBuffer(bytes: stale.digest))",
                logger: logger)
            var raw: [UInt8]?
            for try await buffer in rows.decode(ByteBuffer.self) { raw = Array(buffer.readableBytesView) }
            return raw
        }
    }

    /// Stores structures rendered again from the message's bytes, and marks the row current.
    /// Idempotent: two nodes rendering the same row write the same values.
    public func saveStructures(of stale: StaleStructure, envelope: String, bodyStructure: String, body: String) async throws {
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
                WHERE grant_id = \(stale.grant.rawValue)::uuid AND digest = \(ByteBuffer(bytes: stale.digest))
                """, logger: logger)
        }
    }
}
