import Foundation
import PostgresNIO

/// Where a region's Postgres is: parsed from `postgres://user[:password]@host[:port]/database`.
///
/// `?host=/folder` (as libpq reads it) connects through the Unix socket `/folder/.s.PGSQL.<port>`
/// instead of TCP: a Postgres on the node's own machine answers a round trip with less CPU on both
/// sides than over loopback TCP. The host in the URL is then only what it names to people.
public struct PostgresEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The folder of the server's Unix socket, when it is reached through it.
    public var socketFolder: String?

    /// The socket file Postgres listens on in `socketFolder`.
    public var socketPath: String? { socketFolder.map { "\($0)/.s.PGSQL.\(port)" } }

    public struct InvalidURL: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, socketFolder: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.socketFolder = socketFolder
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw InvalidURL(description: "expected postgres://user@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else { throw InvalidURL(description: "the URL has no host") }
        guard let user = components.user, !user.isEmpty else { throw InvalidURL(description: "the URL has no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw InvalidURL(description: "the URL names no database") }
        var socketFolder: String?
        for item in components.queryItems ?? [] {
            guard item.name == "host", let value = item.value else {
                throw InvalidURL(description: "unknown URL parameter \(item.name) (only host=/socket/folder is read)")
            }
            // A socket path longer than this cannot be bound (sun_path holds 108 bytes).
            guard value.hasPrefix("/"), value.utf8.count + "/.s.PGSQL.65535".utf8.count < 108 else {
                throw InvalidURL(description: "host= must name the folder of the server's Unix socket (an absolute path of at most 92 bytes)")
            }
            socketFolder = value
        }
        self.init(host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database,
                  socketFolder: socketFolder)
    }

    /// The URL without its password, for logs and error messages.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (socketFolder.map { "?host=\($0)" } ?? "")
    }

    /// The size of a pool: a node's connections to another region's Postgres, and its mail store's
    /// to its own (where the rest of its work has half as many more: 30 in all).
    public static let poolSize = 20

    /// - Parameter keepsPoolOpen: kept for callers; every pool now starts empty and lets idle
    ///   connections go after a minute. A minimum of open connections made a lease crash the
    ///   node while Postgres was down: postgres-nio's pool asserts that its minimum is open
    ///   (`PoolStateMachine.ConnectionGroup.createNewDemandConnectionIfPossible`), which a
    ///   Postgres that refuses connections makes false. It cost the LIST-heavy load some speed
    ///   (a timer per connection going idle), which a node that survives an outage is worth.
    /// - Parameter readOnly: every transaction is read-only unless it says `READ WRITE`: how a node
    ///   connects to another region's Postgres, which it reads (routing fallback, quota, credentials)
    ///   but never writes, since each region owns its data. A path that would write there fails
    ///   instead of writing.
    /// - Parameter maximumConnections: the pool's size; a serving node's own region gives its mail
    ///   store a `PostgresConnectionPool` of `poolSize` and the rest of its work a smaller client.
    public func clientConfiguration(keepsPoolOpen: Bool = false, readOnly: Bool = false,
                                    maximumConnections: Int = PostgresEndpoint.poolSize) -> PostgresClient.Configuration {
        var configuration = if let socketPath {
            PostgresClient.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
        } else {
            PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 0
        // No keep-alive queries: they too run on a timer per idle connection, and a connection that
        // died is found by its next query, which fails like any query to a Postgres that is down.
        configuration.options.keepAliveBehavior = nil
        // The write functions' statements (`WritePathSchema`) are planned once per connection and
        // kept: their custom plans cost more to make than to run. Unnamed statements are unaffected.
        //
        // Sequential scans are priced out: a connection plans a statement once, with the statistics
        // of that moment, and keeps the plan until the table is next analyzed. On a new cluster that
        // moment finds the mail tables empty, and the kept plan then reads every grant's messages for
        // each APPEND, STORE or SELECT as the tables fill (measured: the Message-ID lookup of an
        // APPEND took 0.6 ms against 4,000 messages). Every mail query is scoped by grant and served
        // by an index (`HotStatementPlanTests`), so an index is the right plan at any size; a query
        // that has no index to use still reads the table. Such a plan's price is then far above the
        // point where Postgres compiles a query to machine code (JIT), which takes longer than any
        // of these statements runs: JIT is off for the store's connections.
        configuration.options.additionalStartupParameters = Self.startupParameters(readOnly: readOnly)
        return configuration
    }

    /// One connection as `clientConfiguration` makes them, for `PostgresConnectionPool`, whose
    /// calls each statement bounds in Postgres: a statement still running after `statementTimeout`
    /// (a lock that is not given up, a Postgres too loaded to answer) fails with SQLSTATE 57014 and
    /// leaves the connection usable.
    public func connectionConfiguration(readOnly: Bool = false, statementTimeout: Duration = .seconds(10)) -> PostgresConnection.Configuration {
        var configuration = if let socketPath {
            PostgresConnection.Configuration(unixSocketPath: socketPath, username: username, password: password, database: database)
        } else {
            PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.additionalStartupParameters = Self.startupParameters(readOnly: readOnly)
            + [("statement_timeout", "\(max(1, statementTimeout.nanoseconds / 1_000_000))")]
        return configuration
    }

    private static func startupParameters(readOnly: Bool) -> [(String, String)] {
        // A backend notices within a second that its client went away (a node that stopped or was
        // cut off) and stops, rather than run on holding its locks and its place in max_connections.
        var parameters = [("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off"), ("jit", "off"),
                          ("client_connection_check_interval", "1000")]
        if readOnly { parameters.append(("default_transaction_read_only", "on")) }
        return parameters
    }
}
