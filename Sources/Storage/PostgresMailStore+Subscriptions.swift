import MailCore
import PostgresNIO

/// The `subscriptions` table (see `SubscriptionSchema`). Subscriptions are a list of names, not
/// folder state, so they take no grant lock and bump no modseq.
extension PostgresMailStore {
    public func subscriptions(grant: GrantID) async throws -> [String] {
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT name FROM subscriptions WHERE grant_id = \(grant.rawValue)::uuid", logger: logger)
            var names: [String] = []
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
    }

    public func subscribe(grant: GrantID, names: [String]) async throws {
        guard !names.isEmpty else { return }
        let logger = self.logger
        try await transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO subscriptions (grant_id, name)
                SELECT g.id, n.name FROM grants g, unnest(\(names)::text[]) AS n(name) WHERE g.id = \(grant.rawValue)::uuid
                ON CONFLICT DO NOTHING
                RETURNING 1
                """, logger: logger)
            for try await _ in rows {}
            let known = try await connection.query("SELECT 1 FROM grants WHERE id = \(grant.rawValue)::uuid", logger: logger)
            var exists = false
            for try await _ in known { exists = true }
            if !exists { throw MailStoreError.noSuchGrant }
        }
    }

    @discardableResult
    public func unsubscribe(grant: GrantID, names: [String]) async throws -> [String] {
        guard !names.isEmpty else { return [] }
        let logger = self.logger
        return try await transaction { connection in
            let rows = try await connection.query(
                """
                DELETE FROM subscriptions WHERE grant_id = \(grant.rawValue)::uuid AND name = ANY(\(names)::text[])
                RETURNING name
                """, logger: logger)
            var removed: [String] = []
            for try await name in rows.decode(String.self) { removed.append(name) }
            return removed
        }
    }
}
