import MailCore
import PostgresNIO

/// Expunge tombstones kept for a window (see `VanishedWindowSchema`).
extension PostgresMailStore {
    /// Forgets tombstones written before `cutoff` (unix seconds), at most `limit` of them, oldest
    /// first; returns how many. Nodes prune one at a time: a second waits for the first to commit,
    /// then finds what is left.
    public func pruneExpungeTombstones(writtenBefore cutoff: Int64, limit: Int) async throws -> Int {
        let logger = self.logger
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(VanishedWindowSchema.pruneLockKey))", logger: logger)
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(cutoff)
            bindings.append(Int64(limit))
            let rows = try await connection.query(PostgresQuery(unsafeSQL: VanishedWindowSchema.prune, binds: bindings), logger: logger)
            var forgotten: Int64 = 0
            for try await value in rows.decode(Int64.self) { forgotten = value }
            return Int(forgotten)
        }
    }
}
