import MailCore
import PostgresNIO

/// The `grant_daily_counts` table (see `PolicyLimitsSchema`): one row per grant and UTC day,
/// written only while a daily limit applies to the grant.
extension PostgresMailStore {
    public func dailyCounts(grant: GrantID, day: Int64) async throws -> DailyCounts {
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                "SELECT received, sent FROM grant_daily_counts WHERE grant_id = \(grant.rawValue)::uuid AND day = \(Int32(clamping: day))",
                logger: logger)
            for try await (received, sent) in rows.decode((Int32, Int32).self) {
                return DailyCounts(received: Int64(received), sent: Int64(sent))
            }
            return DailyCounts()
        }
    }

    public func countDaily(_ direction: DailyCounts.Direction, grant: GrantID, day: Int64, limit: Int64) async throws -> Bool {
        guard limit > 0 else { return false }
        let logger = self.logger
        let query = Self.countDailyQuery(direction, grant: grant, day: day, limit: limit)
        return try await read { connection in
            do {
                let rows = try await connection.query(query, logger: logger)
                var counted = false
                for try await _ in rows.decode(Int32.self) { counted = true }
                return counted
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
                throw MailStoreError.noSuchGrant
            }
        }
    }

    public func uncountDaily(_ direction: DailyCounts.Direction, grant: GrantID, day: Int64) async throws {
        let logger = self.logger
        let column = direction == .received ? "received" : "sent"
        _ = try await read { connection in
            try await connection.query(
                """
                UPDATE grant_daily_counts SET \(unescaped: column) = greatest(\(unescaped: column) - 1, 0)
                WHERE grant_id = \(grant.rawValue)::uuid AND day = \(Int32(clamping: day))
                """, logger: logger)
        }
    }

    /// The first count of a day inserts its row; later ones add one while the day is below `limit`
    /// (the row lock of the upsert orders concurrent counts).
    static func countDailyQuery(_ direction: DailyCounts.Direction, grant: GrantID, day: Int64, limit: Int64) -> PostgresQuery {
        let column = direction == .received ? "received" : "sent"
        return """
            INSERT INTO grant_daily_counts AS c (grant_id, day, \(unescaped: column))
            VALUES (\(grant.rawValue)::uuid, \(Int32(clamping: day)), 1)
            ON CONFLICT (grant_id, day) DO UPDATE SET \(unescaped: column) = c.\(unescaped: column) + 1
                WHERE c.\(unescaped: column) < \(Int32(clamping: limit))
            RETURNING c.\(unescaped: column)
            """
    }

    /// Removes the counts of days before `day` (they decide nothing any more); returns how many rows went.
    public func pruneDailyCounts(before day: Int64) async throws -> Int {
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                "DELETE FROM grant_daily_counts WHERE day < \(Int32(clamping: day)) RETURNING 1", logger: logger)
            var removed = 0
            for try await _ in rows { removed += 1 }
            return removed
        }
    }
}
