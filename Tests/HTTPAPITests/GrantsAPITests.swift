import Cluster
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import MailCore
import NIOCore
import Storage
import TestSupport
import Testing

/// The grants API over a real socket, against real Postgres and Redis.
@Suite struct GrantsAPITests {
    static let apiKey = "test-key-\(UUID().uuidString)"
    static let us = Region(rawValue: "us")!

    func withAPI(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let primary = RedisClient(endpoint: try RedisEndpoint(url: TestEnvironment.redisURL()), logger: TestEnvironment.logger)
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            let routing = RoutingTable(primary: primary, replica: primary, stores: [(Self.us, store)], logger: TestEnvironment.logger)
            let service = GrantService(region: Self.us, stores: [(Self.us, store)], routing: routing,
                                       hasher: PasswordHasher(cost: 4), logger: TestEnvironment.logger)
            let router = APIServer.router(
                settings: .init(host: "127.0.0.1", port: 0, node: "test-1", apiKeys: [Self.apiKey], jsonBodyLimit: 4096),
                grants: service)
            try await Application(router: router).test(.live) { client in try await body(client) }
        }
        await primary.close()
    }

    static var auth: HTTPFields { [.authorization: "Bearer \(apiKey)", .contentType: "application/json"] }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [String: Any]
    }

    static func createBody(_ email: String, _ password: String? = "Abcdefghijklmnop12") -> ByteBuffer {
        var settings: [String: Any] = ["email": email]
        if let password { settings["app_password"] = password }
        return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: ["provider": "nylas", "settings": settings]))
    }

    @Test func createReadUpdateDelete() async throws {
        try await withAPI { client in
            let email = TestEnvironment.uniqueEmail("api")
            let created = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: Self.createBody(email))
            #expect(created.status == .ok)
            let body = try Self.json(created)
            #expect(body["request_id"] is String)
            let grant = body["data"] as! [String: Any]
            #expect(grant["email"] as? String == email)
            #expect(grant["region"] as? String == "us")
            #expect(grant["provider"] as? String == "nylas")
            #expect(grant["grant_status"] as? String == "valid")
            #expect(!String(buffer: created.body).contains("Abcdefghijklmnop12"))
            #expect(!String(buffer: created.body).contains("$2b$"))
            let id = grant["id"] as! String

            let fetched = try await client.execute(uri: "/v3/grants/\(id)", method: .get, headers: Self.auth)
            #expect(fetched.status == .ok)
            #expect((try Self.json(fetched)["data"] as! [String: Any])["email"] as? String == email)
            #expect(fetched.headers[HTTPField.Name("X-Request-Id")!] != nil)

            let renamed = TestEnvironment.uniqueEmail("renamed")
            let patched = try await client.execute(uri: "/v3/grants/\(id)", method: .patch, headers: Self.auth,
                                                   body: Self.createBody(renamed, "Zyxwvutsrqponmlk98"))
            #expect(patched.status == .ok)
            #expect((try Self.json(patched)["data"] as! [String: Any])["email"] as? String == renamed)

            let deleted = try await client.execute(uri: "/v3/grants/\(id)", method: .delete, headers: Self.auth)
            #expect(deleted.status == .ok)
            #expect(try Self.json(deleted)["request_id"] is String)
            let gone = try await client.execute(uri: "/v3/grants/\(id)", method: .get, headers: Self.auth)
            #expect(gone.status == .notFound)
            #expect((try Self.json(gone)["error"] as! [String: Any])["type"] as? String == "not_found_error")
        }
    }

    @Test(arguments: [
        ("Abcdefghijklmnop1", "18 to 40"),
        ("Abcdefgh ijklmnop12", "printable ASCII"),
        ("Abcdefghijklmnopqrs", "digit"),
        ("abcdefghijklmnop12", "upper case"),
        ("ABCDEFGHIJKLMNOP12", "lower case"),
    ])
    func refusesPasswordsNamingTheRule(_ password: String, _ rule: String) async throws {
        try await withAPI { client in
            let response = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth,
                                                    body: Self.createBody(TestEnvironment.uniqueEmail(), password))
            #expect(response.status == .badRequest)
            let error = try Self.json(response)["error"] as! [String: Any]
            #expect(error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains(rule) == true)
        }
    }

    @Test func aGrantWithoutPasswordIsAllowed() async throws {
        try await withAPI { client in
            let response = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth,
                                                    body: Self.createBody(TestEnvironment.uniqueEmail(), nil))
            #expect(response.status == .ok)
        }
    }

    @Test func duplicateAddressesConflict() async throws {
        try await withAPI { client in
            let email = TestEnvironment.uniqueEmail("dup")
            let first = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: Self.createBody(email))
            #expect(first.status == .ok)
            let second = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth,
                                                  body: Self.createBody(email.uppercased()))
            #expect(second.status == .conflict)
            #expect((try Self.json(second)["error"] as! [String: Any])["type"] as? String == "conflict_error")
        }
    }

    @Test func concurrentCreatesOfOneAddressLetExactlyOneWin() async throws {
        try await withAPI { client in
            let email = TestEnvironment.uniqueEmail("race")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: Self.createBody(email)).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 5)
        }
    }

    @Test func refusesMissingOrWrongKeys() async throws {
        try await withAPI { client in
            let missing = try await client.execute(uri: "/v3/grants", method: .get)
            #expect(missing.status == .unauthorized)
            #expect((try Self.json(missing)["error"] as! [String: Any])["type"] as? String == "unauthorized")
            let wrong = try await client.execute(uri: "/v3/grants", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
        }
    }

    @Test func boundsAndRefusesBadBodies() async throws {
        try await withAPI { client in
            let notJSON = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: ByteBuffer(string: "{"))
            #expect(notJSON.status == .badRequest)
            let wrongType = try await client.execute(uri: "/v3/connect/custom", method: .post,
                                                     headers: [.authorization: "Bearer \(Self.apiKey)", .contentType: "text/plain"],
                                                     body: Self.createBody(TestEnvironment.uniqueEmail()))
            #expect(wrongType.status == .unsupportedMediaType)
            let noEmail = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth,
                                                   body: ByteBuffer(string: "{\"provider\":\"nylas\",\"settings\":{}}"))
            #expect(noEmail.status == .badRequest)
            #expect((try Self.json(noEmail)["error"] as! [String: Any])["message"] as? String == "settings.email is required")
            let badEmail = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: Self.createBody("not an address"))
            #expect(badEmail.status == .badRequest)
            let badID = try await client.execute(uri: "/v3/grants/not-a-grant", method: .get, headers: Self.auth)
            #expect(badID.status == .notFound)
            // Last: a 413 ends its connection (the test client does not open another).
            let huge = ByteBuffer(string: "{\"settings\":{\"email\":\"" + String(repeating: "a", count: 5000) + "\"}}")
            let tooLarge = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.headers[.connection] == "close")
        }
    }

    @Test func listsPageByPage() async throws {
        try await withAPI { client in
            for _ in 0..<3 {
                _ = try await client.execute(uri: "/v3/connect/custom", method: .post, headers: Self.auth, body: Self.createBody(TestEnvironment.uniqueEmail("list")))
            }
            var seen: [String] = []
            var token: String?
            repeat {
                let uri = "/v3/grants?limit=2" + (token.map { "&page_token=\($0)" } ?? "")
                let page = try Self.json(try await client.execute(uri: uri, method: .get, headers: Self.auth))
                let items = page["data"] as! [[String: Any]]
                #expect(items.count <= 2)
                seen += items.map { $0["id"] as! String }
                token = page["next_cursor"] as? String
                #expect(page.keys.contains("next_cursor"))
            } while token != nil
            #expect(seen == seen.sorted())
            #expect(Set(seen).count == seen.count)
            #expect(seen.count >= 3)
            let bad = try await client.execute(uri: "/v3/grants?limit=0", method: .get, headers: Self.auth)
            #expect(bad.status == .badRequest)
        }
    }
}
