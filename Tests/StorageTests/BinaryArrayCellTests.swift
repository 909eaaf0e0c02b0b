import PostgresNIO
import TestSupport
import Testing
@testable import Storage

/// The hand-written array readers against what Postgres sends, including the shapes they leave to
/// PostgresNIO's own decoding.
@Suite struct BinaryArrayCellTests {
    static let cases: [(sql: String, int64s: [Int64]?, strings: [String]?)] = [
        ("SELECT '{}'::bigint[], '{}'::text[]", [], []),
        ("SELECT ARRAY[1, -2, 9223372036854775807]::bigint[], ARRAY['a', '', 'Ünïcode \\Seen']", [1, -2, 9_223_372_036_854_775_807], ["a", "", "Ünïcode \\Seen"]),
        ("SELECT (SELECT array_agg(n) FROM generate_series(1, 500) n)::bigint[], ARRAY[repeat('x', 3000)]", Array(1...500), [String(repeating: "x", count: 3000)]),
        ("SELECT '[0:1]={7,8}'::bigint[], '[0:1]={p,q}'::text[]", [7, 8], ["p", "q"]),
        ("SELECT ARRAY[1, NULL]::bigint[], ARRAY['a', NULL]", nil, nil),
    ]

    @Test(arguments: cases.indices)
    func readsWhatPostgresSends(_ index: Int) async throws {
        let expected = Self.cases[index]
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let rows = try await client.query(PostgresQuery(unsafeSQL: expected.sql), logger: TestEnvironment.logger)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                if let int64s = expected.int64s {
                    #expect(try BinaryArrayCell.int64s(cells[0]) == int64s)
                } else {
                    // NULL elements: the generic decoding decides, and refuses.
                    #expect(throws: (any Error).self) { try BinaryArrayCell.int64s(cells[0]) }
                }
                if let strings = expected.strings {
                    #expect(try BinaryArrayCell.strings(cells[1]) == strings)
                } else {
                    #expect(throws: (any Error).self) { try BinaryArrayCell.strings(cells[1]) }
                }
            }
        }
    }
}
