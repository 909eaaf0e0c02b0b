import PostgresNIO

/// Reading Postgres's SQLSTATE through the wrappers postgres-nio puts around it.
public enum PostgresErrors {
    /// The server's SQLSTATE, also when the error comes wrapped by `withTransaction`.
    public static func sqlState(_ error: any Error) -> String? {
        switch error {
        case let error as PSQLError:
            return error.serverInfo?[.sqlState]
        case let error as PostgresTransactionError:
            return error.closureError.flatMap(sqlState) ?? error.beginError.flatMap(sqlState) ?? error.commitError.flatMap(sqlState)
        default:
            return nil
        }
    }

    /// `23505 unique_violation`.
    public static func isUniqueViolation(_ error: any Error) -> Bool { sqlState(error) == "23505" }
}
