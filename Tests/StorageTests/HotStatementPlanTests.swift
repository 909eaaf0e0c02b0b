import PostgresNIO
import TestSupport
import Testing
@testable import Storage

/// Every read of the IMAP hot path is served by an index: with sequential scans priced out, none of
/// their plans reads a mail table from end to end.
@Suite struct HotStatementPlanTests {
    static let statements: [(String, PostgresQuery)] = [
        ("changes", PostgresMailStore.ChangesStatement.sample),
        ("snapshot by id", PostgresMailStore.SnapshotByIDStatement.sample),
        ("snapshot by name", PostgresMailStore.SnapshotByNameStatement.sample),
        ("fetch", PostgresMailStore.FetchStatement.sample),
        ("fetch with bytes", PostgresMailStore.FetchWithRawStatement.sample),
        ("folders", PostgresMailStore.FoldersStatement.sample),
        ("folder by id", PostgresMailStore.FolderByIDStatement.sample),
        ("folder by name", PostgresMailStore.FolderByNameStatement.sample),
        ("append target", PostgresMailStore.AppendTargetStatement.sample),
    ]

    @Test(arguments: statements.map(\.0))
    func readsNoMailTableSequentially(_ name: String) async throws {
        let query = try #require(Self.statements.first { $0.0 == name }?.1)
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await client.withConnection { connection in
                try await connection.query("SET enable_seqscan = off", logger: TestEnvironment.logger)
                var plan: [String] = []
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds),
                                                      logger: TestEnvironment.logger)
                for try await line in rows.decode(String.self) { plan.append(line) }
                let scans = plan.filter { line in
                    ["messages", "message_contents", "folders", "expunged_messages", "grants"].contains { line.contains("Seq Scan on \($0) ") }
                }
                #expect(scans.isEmpty, "\(name): \(plan.joined(separator: "\n"))")
            }
        }
    }
}
