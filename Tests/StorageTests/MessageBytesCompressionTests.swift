import PostgresNIO
import TestSupport
import Testing
@testable import Storage

/// Message bytes, stored and queued, and a message's body text, IMAP structures and extra headers
/// are compressed with lz4 wherever the server has it: pglz costs Postgres more CPU than the rest
/// of a write (migrations 6, 16 and 35).
@Suite struct MessageBytesCompressionTests {
    @Test(arguments: [("message_contents", "raw"), ("outbound_messages", "raw"), ("message_contents", "body"),
                      ("message_contents", "body_structure"), ("message_contents", "envelope"),
                      ("message_contents", "extra")])
    func messageBytesUseLZ4(_ table: String, _ column: String) async throws {
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            try await client.withConnection { connection in
                let logger = TestEnvironment.logger
                let hasLZ4 = (try? await connection.query("SET default_toast_compression = lz4", logger: logger)) != nil
                try #require(hasLZ4, "this Postgres was built without lz4")
                try await connection.query("RESET default_toast_compression", logger: logger)
                let rows = try await connection.query(
                    """
                    SELECT attcompression::text FROM pg_attribute WHERE attrelid = \(table)::regclass AND attname = \(column)
                    """, logger: logger)
                var method: String?
                for try await value in rows.decode(String.self) { method = value }
                #expect(method == "l", "\(table).\(column): \(method ?? "none")")
            }
        }
    }
}
