import MailCore
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The behaviour any grant store must have, run against the Postgres store.
@Suite struct GrantStoreTests {
    func makeGrant(_ email: String = TestEnvironment.uniqueEmail(), region: String = "us") -> Grant {
        Grant(id: .random(), email: EmailAddress(email)!, region: Region(rawValue: region)!, appPasswordHash: "$2b$04$x",
              createdAt: 1_700_000_000, updatedAt: 1_700_000_000)
    }

    @Test func createsGrantWithItsSixSystemFolders() async throws {
        let grant = makeGrant()
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            _ = try await store.createGrant(grant)
            let fetched = try await store.grant(id: grant.id)
            #expect(fetched == grant)
            #expect(try await store.grant(email: EmailAddress(grant.email.address.uppercased())!) == grant)
            var folders: [String] = []
            let rows = try await client.query("SELECT name || '/' || id || ' ' || special_use FROM folders WHERE grant_id = \(grant.id.rawValue)::uuid ORDER BY created_at, name")
            for try await name in rows.decode(String.self) { folders.append(name) }
            #expect(folders.sorted() == ["Archive/archive \\Archive", "Drafts/drafts \\Drafts", "INBOX/inbox \\Inbox",
                                         "Junk/junk \\Junk", "Sent/sent \\Sent", "Trash/trash \\Trash"])
        }
    }

    /// A serving node reads grants by id and by address through its own pool: the same answers,
    /// a changed row seen at once, and nothing for what is not there.
    @Test func lookupsThroughTheNodesPoolAnswerAsTheClient() async throws {
        let grant = makeGrant()
        let url = try TestEnvironment.postgresURL()
        try await TestEnvironment.withPostgres(url: url) { client in
            try await TestEnvironment.withPool(url: url) { pool in
                let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
                let pooled = PostgresGrantStore(client: client, pool: pool, logger: TestEnvironment.logger)
                _ = try await store.createGrant(grant)
                #expect(try await pooled.grant(id: grant.id) == grant)
                #expect(try await pooled.grant(email: EmailAddress(grant.email.address.uppercased())!) == grant)
                let changed = try await store.updateGrant(id: grant.id, email: grant.email, appPasswordHash: "$2b$04$y", updatedAt: 1_700_000_100)
                #expect(try await pooled.grant(id: grant.id) == changed)
                #expect(try await pooled.grant(id: .random()) == nil)
                #expect(try await pooled.grant(email: EmailAddress(TestEnvironment.uniqueEmail())!) == nil)
            }
        }
    }

    @Test func refusesADuplicateAddressAndLeavesNoFolders() async throws {
        let email = TestEnvironment.uniqueEmail()
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            _ = try await store.createGrant(makeGrant(email))
            let duplicate = makeGrant(email.uppercased())
            await #expect(throws: StoreError.emailTaken) { try await store.createGrant(duplicate) }
            let rows = try await client.query("SELECT count(*) FROM folders WHERE grant_id = \(duplicate.id.rawValue)::uuid")
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test func updatesBumpTheCredentialsVersion() async throws {
        let grant = makeGrant()
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            _ = try await store.createGrant(grant)
            let newEmail = EmailAddress(TestEnvironment.uniqueEmail("renamed"))!
            let updated = try await store.updateGrant(id: grant.id, email: newEmail, appPasswordHash: nil, updatedAt: 1_700_000_100)
            #expect(updated?.email == newEmail)
            #expect(updated?.appPasswordHash == nil)
            #expect(updated?.credentialsVersion == grant.credentialsVersion + 1)
            #expect(try await store.grant(email: grant.email) == nil)
            #expect(try await store.updateGrant(id: .random(), email: newEmail, appPasswordHash: nil, updatedAt: 1) == nil)
        }
    }

    @Test func deleteRemovesTheGrantAndItsFolders() async throws {
        let grant = makeGrant()
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            _ = try await store.createGrant(grant)
            #expect(try await store.deleteGrant(id: grant.id))
            #expect(try await !store.deleteGrant(id: grant.id))
            #expect(try await store.grant(id: grant.id) == nil)
            let rows = try await client.query("SELECT count(*) FROM folders WHERE grant_id = \(grant.id.rawValue)::uuid")
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test func listsInIDOrderAfterACursor() async throws {
        let grants = (0..<5).map { _ in makeGrant() }
        try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
            let store = PostgresGrantStore(client: client, logger: TestEnvironment.logger)
            for grant in grants { _ = try await store.createGrant(grant) }
            let all = try await store.listGrants(after: nil, limit: 100_000)
            #expect(all.map(\.id) == all.map(\.id).sorted())
            let first = grants.map(\.id).min()!
            let page = try await store.listGrants(after: first, limit: 2)
            #expect(page.count == 2)
            #expect(page.allSatisfy { $0.id > first })
            let routes = try await store.allRoutes()
            #expect(Set(grants.map(\.id)).isSubset(of: Set(routes.map(\.grantID))))
        }
    }

    /// Four nodes starting together on an empty database: exactly one applies each version.
    @Test func migrationsAreSafeToRunFromManyNodesAtOnce() async throws {
        let url = try TestEnvironment.postgresURL()
        let database = "migrate_\(UInt32.random(in: 0...UInt32.max))"
        try await TestEnvironment.withPostgres(url: url) { client in
            try await client.query("CREATE DATABASE \(unescaped: database)")
        }
        var endpoint = try PostgresEndpoint(url: url)
        endpoint.database = database
        let fresh = PostgresClient(configuration: endpoint.clientConfiguration(), backgroundLogger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await fresh.run() }
            var appliedEverywhere: [Int] = []
            try await withThrowingTaskGroup(of: [Int].self) { starters in
                for _ in 0..<4 { starters.addTask { try await Migrations.run(on: fresh, logger: TestEnvironment.logger) } }
                for try await applied in starters { appliedEverywhere += applied }
            }
            #expect(appliedEverywhere.sorted() == Migrations.all.map(\.version))
            let rows = try await fresh.query("SELECT count(*) FROM schema_migrations")
            for try await count in rows.decode(Int.self) { #expect(count == Migrations.all.count) }
            group.cancelAll()
        }
        try await TestEnvironment.withPostgres(url: url) { client in
            try await client.query("DROP DATABASE \(unescaped: database) WITH (FORCE)")
        }
    }
}
