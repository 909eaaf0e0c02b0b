import PostgresNIO
import _ConnectionPoolModule

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

    /// Whether `error` says Postgres could not be asked (down, unreachable, shutting down, out of
    /// connections, too slow to answer): a temporary condition a client should retry, never its
    /// fault nor a bug.
    public static func isUnavailable(_ error: any Error) -> Bool {
        switch error {
        case is DeadlineExceeded, is PostgresConnectionPool.Closed:
            return true
        case let error as ConnectionPoolError:
            // The pool gave up connecting (its circuit breaker) or is closing with the node.
            return error == .connectionCreationCircuitBreakerTripped || error == .poolShutdown
        case let error as PostgresTransactionError:
            return [error.beginError, error.closureError, error.commitError].compactMap { $0 }.contains(where: isUnavailable)
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
                return true
            case .server:
                // Classes 08 (connection exception), 53 (insufficient resources), 57P (operator
                // intervention: shutting down, cannot connect now), and 57014: a statement cancelled
                // by statement_timeout (Postgres too slow to answer, a lock held too long).
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P") || state == "57014"
            default:
                return false
            }
        default:
            return false
        }
    }
}
