import Logging
import MailCore
import Metrics
import PostgresNIO

/// The grants of one region in that region's Postgres.
public struct PostgresGrantStore: GrantStore {
    public let client: PostgresClient
    /// The node's own pool to this region (`PostgresConnectionPool`), for the lookups every message
    /// and every SMTP transaction makes; nil: they go through `client` like the rest.
    public let pool: PostgresConnectionPool?
    public let logger: Logger
    /// How long one store call may take before it fails (a Postgres that is down must not hang a
    /// request). A lookup through `pool` is bounded as the mail store's calls are: `timeout` for
    /// the wait for a connection, then the connection's `statement_timeout` in Postgres.
    public var timeout: Duration

    /// Names this store's Postgres in `mailnode_postgres_errors_total{region}`.
    public let region: String

    public init(client: PostgresClient, pool: PostgresConnectionPool? = nil, logger: Logger, region: String = "local",
                timeout: Duration = .seconds(5)) {
        self.client = client
        self.pool = pool
        self.logger = logger
        self.region = region
        self.timeout = timeout
    }

    /// Every call goes through here: bounded in time, and counted when it fails for a reason other
    /// than the caller's (a taken address is an answer, not a Postgres error).
    private func run<Result: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        do {
            return try await withDeadline(timeout ?? self.timeout, what: "Postgres", body)
        } catch {
            if !PostgresErrors.isUniqueViolation(error) {
                Counter(label: "mailnode_postgres_errors_total", dimensions: [("region", region)]).increment()
            }
            throw error
        }
    }

    private static let grantColumns = "id::text, email, region, app_password_hash, credentials_version, created_at, updated_at, workspace_id"

    /// The `grant.*` webhook event for the grant row `g`, written by the same statement that changes
    /// it; the object is the API's grant object (the password hash never leaves the store).
    private static func grantEvent(_ type: String, row: String) -> String {
        """
        INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
        SELECT g.id, 'grant', g.id::text, '\(type)', jsonb_build_object(
            'object', 'grant', 'id', g.id::text, 'provider', 'nylas', 'grant_status', 'valid', 'email', g.email,
            'region', g.region, 'scope', '[]'::jsonb, 'workspace_id', g.workspace_id, 'created_at', g.created_at, 'updated_at', g.updated_at),
            extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint
        FROM \(row) g
        """
    }

    public func createGrant(_ grant: Grant) async throws -> Grant {
        let client = self.client, logger = self.logger
        return try await run {
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        """
                        INSERT INTO grants (id, email, email_normalized, region, app_password_hash, credentials_version, created_at, updated_at,
                                            workspace_id)
                        VALUES (\(grant.id.rawValue)::uuid, \(grant.email.address), \(grant.email.normalized), \(grant.region.rawValue),
                                \(grant.appPasswordHash), \(grant.credentialsVersion), \(grant.createdAt), \(grant.updatedAt), \(grant.workspaceID))
                        """, logger: logger)
                    // UIDVALIDITY must differ from any earlier folder of the same name (RFC 3501 2.3.1.1):
                    // seconds since 1970 at creation do that for a mailbox made once per grant.
                    for folder in SystemFolder.allCases {
                        try await connection.query(
                            """
                            INSERT INTO folders (grant_id, id, name, system_role, special_use, uid_validity, created_at)
                            VALUES (\(grant.id.rawValue)::uuid, \(folder.apiID), \(folder.imapName), \(folder.rawValue),
                                    \(folder.specialUse), \(grant.createdAt), \(grant.createdAt))
                            """, logger: logger)
                    }
                    // The system folders start subscribed, so clients that show only subscribed folders show them.
                    try await connection.query(
                        "INSERT INTO subscriptions (grant_id, name) SELECT grant_id, name FROM folders WHERE grant_id = \(grant.id.rawValue)::uuid",
                        logger: logger)
                    try await connection.query(
                        "\(unescaped: Self.grantEvent("grant.created", row: "grants")) WHERE g.id = \(grant.id.rawValue)::uuid",
                        logger: logger)
                }
            } catch where PostgresErrors.isUniqueViolation(error) {
                throw StoreError.emailTaken
            }
            return grant
        }
    }

    public func grant(id: GrantID) async throws -> Grant? {
        try await fetchAll(GrantByIDStatement.self, Self.grantByIDQuery(id)).first
    }

    static func grantByIDQuery(_ id: GrantID) -> PostgresQuery {
        "SELECT \(unescaped: grantColumns) FROM grants WHERE id = \(id.rawValue)::text::uuid"
    }

    /// Read for every SMTP transaction (the credentials' recheck) and every arriving message: kept prepared.
    enum GrantByIDStatement: HotStatement {
        static let sample = grantByIDQuery(.random())
    }

    public func grant(email: EmailAddress) async throws -> Grant? {
        try await fetchAll(GrantByEmailStatement.self, Self.grantByEmailQuery(email.normalized)).first
    }

    static func grantByEmailQuery(_ normalizedEmail: String) -> PostgresQuery {
        "SELECT \(unescaped: grantColumns) FROM grants WHERE email_normalized = \(normalizedEmail)::text"
    }

    /// Read for every login by address and every recipient the routing tables do not know: kept prepared.
    enum GrantByEmailStatement: HotStatement {
        static let sample = grantByEmailQuery("sample@example.com")
    }

    public func listGrants(after cursor: GrantID?, limit: Int) async throws -> [Grant] {
        let query: PostgresQuery
        if let cursor {
            query = "SELECT \(unescaped: Self.grantColumns) FROM grants WHERE id > \(cursor.rawValue)::uuid ORDER BY id LIMIT \(limit)"
        } else {
            query = "SELECT \(unescaped: Self.grantColumns) FROM grants ORDER BY id LIMIT \(limit)"
        }
        return try await fetchAll(query)
    }

    public func updateGrant(id: GrantID, email: EmailAddress, appPasswordHash: String?, updatedAt: Int64) async throws -> Grant? {
        let query: PostgresQuery = """
            WITH updated AS (
                UPDATE grants SET email = \(email.address), email_normalized = \(email.normalized),
                       app_password_hash = \(appPasswordHash), credentials_version = credentials_version + 1,
                       updated_at = \(updatedAt)
                WHERE id = \(id.rawValue)::uuid
                RETURNING *),
            event AS (\(unescaped: Self.grantEvent("grant.updated", row: "updated")))
            SELECT \(unescaped: Self.grantColumns) FROM updated
            """
        do {
            return try await fetchOne(query)
        } catch where PostgresErrors.isUniqueViolation(error) {
            throw StoreError.emailTaken
        }
    }

    public func setWorkspace(id: GrantID, workspaceID: String, updatedAt: Int64) async throws -> Grant? {
        try await fetchOne("""
            WITH updated AS (
                UPDATE grants SET workspace_id = \(workspaceID), updated_at = \(updatedAt) WHERE id = \(id.rawValue)::uuid RETURNING *),
            event AS (\(unescaped: Self.grantEvent("grant.updated", row: "updated")))
            SELECT \(unescaped: Self.grantColumns) FROM updated
            """)
    }

    public func deleteGrant(id: GrantID) async throws -> Bool {
        let client = self.client, logger = self.logger
        return try await run {
            let rows = try await client.query(
                """
                WITH snapshots AS (\(unescaped: Self.messageEventSnapshots(grant: id))),
                deleted AS (DELETE FROM grants WHERE id = \(id.rawValue)::uuid RETURNING *),
                event AS (\(unescaped: Self.grantEvent("grant.deleted", row: "deleted")))
                SELECT id::text FROM deleted
                """, logger: logger)
            var deleted = false
            for try await _ in rows.decode(String.self) { deleted = true }
            return deleted
        }
    }

    /// The grant's messages go with it, so the message events still in the outbox keep a snapshot
    /// of their content to be rendered from (see `EventFactsSchema`). One statement with the deletion:
    /// both read the messages as they were before it.
    static func messageEventSnapshots(grant: GrantID) -> String {
        """
        UPDATE event_outbox e SET payload = e.payload || jsonb_build_object('snapshot', mail_message_payload(m, c))
        FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
        WHERE m.grant_id = '\(grant.rawValue)'::uuid AND e.grant_id = '\(grant.rawValue)'::uuid
          AND e.object_type = 'message' AND e.object_id = m.id AND e.type IN ('message.created', 'message.updated')
          AND e.payload ? 'folder_id' AND NOT e.payload ? 'snapshot'
        """
    }

    public func allRoutes() async throws -> [GrantRoute] {
        let client = self.client, logger = self.logger
        return try await run(timeout: .seconds(60)) {
            var routes: [GrantRoute] = []
            let rows = try await client.query("SELECT id::text, email_normalized, region FROM grants ORDER BY id", logger: logger)
            for try await (id, email, region) in rows.decode((String, String, String).self) {
                guard let grantID = GrantID(rawValue: id), let region = Region(rawValue: region) else { continue }
                routes.append(GrantRoute(grantID: grantID, email: email, region: region))
            }
            return routes
        }
    }

    public func ping() async throws {
        let client = self.client, logger = self.logger
        try await run(timeout: .seconds(2)) {
            for try await _ in try await client.query("SELECT 1", logger: logger).decode(Int.self) {}
        }
    }

    // MARK: - Rows

    private func fetchOne(_ query: PostgresQuery) async throws -> Grant? {
        try await fetchAll(query).first
    }

    private func fetchAll(_ query: PostgresQuery) async throws -> [Grant] {
        let client = self.client, logger = self.logger
        return try await run { try await Self.grants(in: try await client.query(query, logger: logger), logger: logger) }
    }

    private func fetchAll<S: HotStatement>(_ statement: S.Type, _ query: PostgresQuery) async throws -> [Grant] {
        let logger = self.logger
        guard let pool else {
            let client = self.client
            return try await run {
                try await client.withConnection { connection in
                    try await Self.grants(in: try await connection.run(statement, query, logger: logger), logger: logger)
                }
            }
        }
        // The pool bounds the wait for a connection, and `statement_timeout` the statement: no
        // task group and timer of `run` around it.
        do {
            return try await pool.withConnection(timeout: timeout) { connection in
                try await Self.grants(in: try await connection.run(statement, query, logger: logger), logger: logger)
            }
        } catch {
            Counter(label: "mailnode_postgres_errors_total", dimensions: [("region", region)]).increment()
            throw error
        }
    }

    private static func grants<Rows: AsyncSequence>(in rows: Rows, logger: Logger) async throws -> [Grant] where Rows.Element == PostgresRow {
        var grants: [Grant] = []
        for try await (id, email, region, hash, version, created, updated, workspace)
            in rows.decode((String, String, String, String?, Int64, Int64, Int64, String?).self) {
            guard let grantID = GrantID(rawValue: id), let address = EmailAddress(email), let home = Region(rawValue: region) else {
                logger.error("skipping malformed grant row", metadata: ["grant_id": "\(id)"])
                continue
            }
            grants.append(Grant(id: grantID, email: address, region: home, appPasswordHash: hash,
                                credentialsVersion: version, createdAt: created, updatedAt: updated, workspaceID: workspace))
        }
        return grants
    }
}
