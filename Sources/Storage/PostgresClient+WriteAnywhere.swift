import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `query` in a transaction that writes whatever the connection's default: the path of
    /// application-scoped objects (webhooks, policies, rules, lists, workspaces), which every region
    /// keeps a full copy of, through connections that are otherwise read-only
    /// (`PostgresEndpoint.clientConfiguration(readOnly:)`). Returns the rows the query returned.
    @discardableResult
    func writeAnywhere(logger: Logger, _ query: PostgresQuery) async throws -> Int {
        try await withConnection { connection in
            _ = try await connection.query("START TRANSACTION READ WRITE", logger: logger)
            do {
                var count = 0
                for try await _ in try await connection.query(query, logger: logger) { count += 1 }
                _ = try await connection.query("COMMIT", logger: logger)
                return count
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
