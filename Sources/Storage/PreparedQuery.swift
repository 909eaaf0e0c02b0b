import Logging
import PostgresNIO

/// A hot statement's text, named by a type of its own so that postgres-nio can keep it prepared per
/// connection: parsing and planning an unnamed statement on every call cost Postgres more than
/// running the statements of the IMAP hot path. `sample` builds the query with any values: the text
/// interpolation makes does not depend on them, only the bindings do.
protocol HotStatement: Sendable {
    static var sample: PostgresQuery { get }
}

/// `S`'s text with one call's bindings. The server infers the parameters' types from the text, and
/// postgres-nio sends values in their binary form: so every parameter is cast to the type its Swift
/// value encodes as (`$1::bigint`, `$2::text[]`), and to anything else through text
/// (`$3::text::uuid`, `$4::text::jsonb`).
struct Prepared<S: HotStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { "mailnode.\(S.self)" }
    static var sql: String { S.sample.sql }

    let bindings: PostgresBindings

    /// `query` must be built the way `S.sample` is (checked in debug builds).
    init(_ query: PostgresQuery) {
        assert(query.sql == S.sample.sql, "\(S.self): the query's text differs from its sample")
        bindings = query.binds
    }

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs `query` as the prepared statement `S`.
    func run<S: HotStatement>(_ statement: S.Type, _ query: PostgresQuery, logger: Logger) async throws
        -> AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> {
        try await execute(Prepared<S>(query), logger: logger)
    }
}
