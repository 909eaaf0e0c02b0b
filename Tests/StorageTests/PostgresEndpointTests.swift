import Foundation
import PostgresNIO
import Storage
import TestSupport
import Testing

/// Region files name Postgres by URL; `?host=/folder` (as libpq reads it) reaches it through its
/// Unix socket.
@Suite struct PostgresEndpointTests {
    @Test(arguments: [
        ("postgres://mailnode@127.0.0.1:17001/mail", "127.0.0.1", 17001, nil),
        ("postgresql://app:secret@db.example:6432/mail", "db.example", 6432, nil),
        ("postgres://mailnode@127.0.0.1/mail", "127.0.0.1", 5432, nil),
        ("postgres://mailnode@127.0.0.1:17001/mail?host=/run/pg", "127.0.0.1", 17001, "/run/pg/.s.PGSQL.17001"),
        ("postgres://mailnode@localhost/mail?host=/var/run/postgresql", "localhost", 5432, "/var/run/postgresql/.s.PGSQL.5432"),
    ] as [(String, String, Int, String?)])
    func readsTheURL(_ url: String, host: String, port: Int, socketPath: String?) throws {
        let endpoint = try PostgresEndpoint(url: url)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
        #expect(endpoint.socketPath == socketPath)
        #expect(endpoint.database == "mail")
        #expect(!endpoint.description.contains("secret"))
    }

    @Test(arguments: [
        "mysql://mailnode@127.0.0.1/mail",
        "postgres://127.0.0.1/mail",
        "postgres://mailnode@127.0.0.1:17001/",
        "postgres://mailnode@127.0.0.1:17001/mail?host=run/pg",
        "postgres://mailnode@127.0.0.1:17001/mail?sslmode=require",
        "postgres://mailnode@127.0.0.1:17001/mail?host=/" + String(repeating: "d", count: 100),
    ])
    func refusesWhatItCannotConnectTo(_ url: String) {
        #expect(throws: PostgresEndpoint.InvalidURL.self) { try PostgresEndpoint(url: url) }
    }

    /// The test Postgres listens on a Unix socket too: a client and the node's pool given its
    /// folder connect through it (Postgres sees no server address on such a connection).
    @Test func connectsThroughTheUnixSocket() async throws {
        let url = try TestEnvironment.postgresURL()
        let folders = try await TestEnvironment.withPostgres(url: url) { client in
            var folders: [String] = []
            for try await setting in try await client.query("SHOW unix_socket_directories").decode(String.self) {
                folders = setting.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("/") }
            }
            return folders
        }
        // cluster/test's Postgres listens on a socket on this machine; a test Postgres must.
        let folder = try #require(folders.first, "the test Postgres has no Unix socket on this machine")
        let socketURL = url + "?host=" + (folder.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? folder)
        #expect(try PostgresEndpoint(url: socketURL).socketPath != nil)
        let query: PostgresQuery = "SELECT inet_server_addr() IS NULL"
        try await TestEnvironment.withPostgres(url: socketURL) { client in
            for try await local in try await client.query(query).decode(Bool.self) { #expect(local) }
        }
        try await TestEnvironment.withPool(url: socketURL) { pool in
            try await pool.withConnection(timeout: .seconds(5)) { connection in
                for try await local in try await connection.query(query, logger: TestEnvironment.logger).decode(Bool.self) { #expect(local) }
            }
        }
    }
}
