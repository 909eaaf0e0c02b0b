import Foundation
import PostgresNIO

/// Where a region's Postgres is: parsed from `postgres://user[:password]@host[:port]/database`.
public struct PostgresEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public struct InvalidURL: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
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
        self.init(host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 }, database: database)
    }

    /// The URL without its password, for logs and error messages.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    public func clientConfiguration() -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 20
        // The write functions' statements (`WritePathSchema`) are planned once per connection and
        // kept: their custom plans cost more to make than to run. Unnamed statements are unaffected.
        configuration.options.additionalStartupParameters = [("plan_cache_mode", "force_generic_plan")]
        return configuration
    }
}
