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
            var oldest = PostgresBindings(capacity: 2)
            oldest.append(cutoff)
            oldest.append(Int64(limit))
            var grants: [String] = [], folders: [String] = [], uids: [Int64] = []
            let rows = try await connection.query(PostgresQuery(unsafeSQL: VanishedWindowSchema.oldest, binds: oldest), logger: logger)
            for try await (grant, folder, uid) in rows.decode((String, String, Int64).self) {
                grants.append(grant)
                folders.append(folder)
                uids.append(uid)
            }
            guard !uids.isEmpty else { return 0 }
            var lock = PostgresBindings(capacity: 1)
            lock.append(Array(Set(grants)))
            try await connection.query(PostgresQuery(unsafeSQL: VanishedWindowSchema.lockGrants, binds: lock), logger: logger)
            var keys = PostgresBindings(capacity: 3)
            keys.append(grants)
            keys.append(folders)
            keys.append(uids)
            var forgotten: Int64 = 0
            let pruned = try await connection.query(PostgresQuery(unsafeSQL: VanishedWindowSchema.prune, binds: keys), logger: logger)
            for try await value in pruned.decode(Int64.self) { forgotten = value }
            return Int(forgotten)
        }
    }
}
