import Foundation
import Logging
import MailCore
import NIOConcurrencyHelpers
import PostgresNIO

/// Policies, rules, lists (with their items) and workspaces in one region's Postgres
/// (`GuardrailSchema`), the grants' workspaces, and the rule evaluations of the region's grants.
/// Application objects are written into every region through this store's write path, which
/// works through the read-only connections a node holds to other regions (`writeAnywhere`).
public struct PostgresGuardrailStore: Sendable {
    public enum Kind: String, Sendable, Hashable {
        case policy, rule, list, workspace
    }

    public let client: PostgresClient
    /// The node's own pool to this region, for the version check every message makes (bounded as
    /// the mail store's calls are); nil: `client`.
    public let pool: PostgresConnectionPool?
    public let logger: Logger
    public var timeout: Duration
    /// The revision this store's writes carry (`revised(_:)`); nil: a fresh one per write.
    public private(set) var revision: Int64?
    /// For an undo: writes apply only where the object's revision is still this one.
    public private(set) var onlyAtRevision: Int64?

    /// The same store undoing the change of `changeRevision` with the later `revision`: each write
    /// applies only where that change is still the object's latest, so that an undo never
    /// overrides a change made after it.
    public func undoing(_ changeRevision: Int64, with revision: Int64) -> PostgresGuardrailStore {
        var copy = revised(revision)
        copy.onlyAtRevision = changeRevision
        return copy
    }

    /// The object's revision in this region, its tombstone's included; nil when it was never here.
    public func currentRevision(_ kind: Kind, id: String) async throws -> Int64? {
        let client = self.client, logger = self.logger
        return try await run {
            var revision: Int64?
            let rows = try await client.query("SELECT revision FROM guardrail_objects WHERE kind = \(kind.rawValue) AND id = \(id)", logger: logger)
            for try await value in rows.decode(Int64.self) { revision = value }
            return revision
        }
    }

    /// The same store writing with `revision`: one change carries one revision into every region,
    /// so that two changes of an object end in the same order everywhere, whatever order they
    /// reached each region in.
    public func revised(_ revision: Int64) -> PostgresGuardrailStore {
        var copy = self
        copy.revision = revision
        return copy
    }

    public init(client: PostgresClient, pool: PostgresConnectionPool? = nil, logger: Logger, timeout: Duration = .seconds(10)) {
        self.client = client
        self.pool = pool
        self.logger = logger
        self.timeout = timeout
    }

    private static let encoder = JSONEncoder()

    private func run<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withDeadline(timeout, what: "Postgres", body)
    }

    // MARK: - Objects

    /// Every object of a kind, oldest first (applications hold tens of them, not thousands).
    public func all<Object: Decodable & Sendable>(_ kind: Kind, as type: Object.Type) async throws -> [Object] {
        try await documents("SELECT document::text FROM guardrail_objects WHERE kind = \(kind.rawValue) AND deleted_at IS NULL ORDER BY created_at, id")
    }

    public func one<Object: Decodable & Sendable>(_ kind: Kind, id: String, as type: Object.Type) async throws -> Object? {
        let found: [Object] = try await documents("SELECT document::text FROM guardrail_objects WHERE kind = \(kind.rawValue) AND id = \(id) AND deleted_at IS NULL")
        return found.first
    }

    public func some<Object: Decodable & Sendable>(_ kind: Kind, ids: [String], as type: Object.Type) async throws -> [Object] {
        guard !ids.isEmpty else { return [] }
        return try await documents(
            """
            SELECT document::text FROM guardrail_objects WHERE kind = \(kind.rawValue) AND id = ANY(\(ids)::text[]) AND deleted_at IS NULL
            ORDER BY created_at, id
            """)
    }

    /// The version of this region's copy, bumped by every change of an object.
    public func version() async throws -> Int64 {
        let logger = self.logger
        @Sendable func read(_ connection: PostgresConnection) async throws -> Int64 {
            var version: Int64 = 0
            for try await value in try await connection.run(VersionStatement.self, VersionStatement.sample, logger: logger)
                .decode(Int64.self) {
                version = value
            }
            return version
        }
        // The pool bounds the wait for a connection, and `statement_timeout` the statement.
        if let pool { return try await pool.withConnection(timeout: timeout, read) }
        let client = self.client
        return try await run { try await client.withConnection(read) }
    }

    /// Asked before every message's rules are applied: kept prepared.
    enum VersionStatement: HotStatement {
        static let sample: PostgresQuery = "SELECT version FROM guardrail_version WHERE id = 1"
    }

    /// Every policy, rule and workspace, in one statement (what rule evaluation reads).
    public func everything() async throws -> (policies: [MailPolicy], rules: [MailRule], workspaces: [Workspace]) {
        let client = self.client, logger = self.logger
        return try await run {
            var policies: [MailPolicy] = [], rules: [MailRule] = [], workspaces: [Workspace] = []
            let decoder = JSONDecoder()
            let rows = try await client.query(
                "SELECT kind, document::text FROM guardrail_objects WHERE kind <> 'list' AND deleted_at IS NULL ORDER BY created_at, id", logger: logger)
            for try await (kind, text) in rows.decode((String, String).self) {
                let data = Data(text.utf8)
                switch Kind(rawValue: kind) {
                case .policy: policies.append(try decoder.decode(MailPolicy.self, from: data))
                case .rule: rules.append(try decoder.decode(MailRule.self, from: data))
                case .workspace: workspaces.append(try decoder.decode(Workspace.self, from: data))
                case .list, nil: break
                }
            }
            return (policies, rules, workspaces)
        }
    }

    private func documents<Object: Decodable & Sendable>(_ query: PostgresQuery) async throws -> [Object] {
        let client = self.client, logger = self.logger
        return try await run {
            var objects: [Object] = []
            let decoder = JSONDecoder()
            for try await text in try await client.query(query, logger: logger).decode(String.self) {
                objects.append(try decoder.decode(Object.self, from: Data(text.utf8)))
            }
            return objects
        }
    }

    /// Creates or replaces an object, unless the region holds a later revision of it (a change
    /// made after this one reached this region first): then this one is already superseded.
    public func put<Object: Encodable & Sendable>(_ kind: Kind, id: String, _ object: Object, createdAt: Int64) async throws {
        let client = self.client, logger = self.logger
        let document = String(decoding: try Self.encoder.encode(object), as: UTF8.self)
        let revision = self.revision ?? GuardrailRevision.next()
        let query: PostgresQuery = if let only = onlyAtRevision {
            """
            WITH bump AS (UPDATE guardrail_version SET version = version + 1)
            UPDATE guardrail_objects SET document = \(document)::jsonb, revision = \(revision), deleted_at = NULL
            WHERE kind = \(kind.rawValue) AND id = \(id) AND revision = \(only)
            """
        } else {
            """
            WITH bump AS (UPDATE guardrail_version SET version = version + 1)
            INSERT INTO guardrail_objects (kind, id, document, created_at, revision)
            VALUES (\(kind.rawValue), \(id), \(document)::jsonb, \(createdAt), \(revision))
            ON CONFLICT (kind, id) DO UPDATE SET document = EXCLUDED.document, revision = EXCLUDED.revision, deleted_at = NULL
                WHERE guardrail_objects.revision < EXCLUDED.revision
            """
        }
        _ = try await run { try await client.writeAnywhere(logger: logger, query) }
    }

    /// Removes an object (a list with its items); false when there was none, or a later change
    /// of it is already here. What remains is a tombstone with the delete's revision, written
    /// also where the object has not arrived yet, so that an earlier change arriving late does not
    /// bring it back; tombstones go after a day (`pruneTombstones`).
    public func delete(_ kind: Kind, id: String) async throws -> Bool {
        let client = self.client, logger = self.logger
        let revision = self.revision ?? GuardrailRevision.next()
        let now = WallClock.unixSeconds()
        let query: PostgresQuery = if let only = onlyAtRevision {
            """
            WITH bump AS (UPDATE guardrail_version SET version = version + 1),
            gone AS (UPDATE guardrail_objects SET deleted_at = \(now), revision = \(revision)
                     WHERE kind = \(kind.rawValue) AND id = \(id) AND deleted_at IS NULL AND revision = \(only) RETURNING kind, id),
            items AS (DELETE FROM guardrail_list_items WHERE list_id IN (SELECT id FROM gone WHERE kind = 'list'))
            SELECT 1 FROM gone
            """
        } else {
            """
            WITH bump AS (UPDATE guardrail_version SET version = version + 1),
            gone AS (INSERT INTO guardrail_objects AS o (kind, id, document, created_at, revision, deleted_at)
                     VALUES (\(kind.rawValue), \(id), '{}'::jsonb, \(now), \(revision), \(now))
                     ON CONFLICT (kind, id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at, revision = EXCLUDED.revision
                         WHERE o.revision < EXCLUDED.revision AND o.deleted_at IS NULL
                     RETURNING o.kind, o.id, (xmax <> 0) AS existed),
            items AS (DELETE FROM guardrail_list_items WHERE list_id IN (SELECT id FROM gone WHERE kind = 'list'))
            SELECT 1 FROM gone WHERE existed
            """
        }
        return try await run { try await client.writeAnywhere(logger: logger, query) } > 0
    }

    /// Removes the tombstones of objects deleted before `cutoff` (unix seconds); returns how many.
    public func pruneTombstones(deletedBefore cutoff: Int64) async throws -> Int {
        let client = self.client, logger = self.logger
        return try await run {
            try await client.writeAnywhere(logger: logger,
                "DELETE FROM guardrail_objects WHERE deleted_at IS NOT NULL AND deleted_at < \(cutoff) RETURNING id")
        }
    }

    // MARK: - List items

    public struct ListItem: Sendable, Hashable {
        public var id: String
        public var value: String
        public var createdAt: Int64
    }

    /// Adds normalised values; values already there are left as they are.
    public func addItems(list: String, values: [String], now: Int64) async throws {
        guard !values.isEmpty else { return }
        let ids = values.map { _ in ObjectIDGenerator.uuid() }
        let client = self.client, logger = self.logger
        _ = try await run {
            try await client.writeAnywhere(logger: logger, """
                INSERT INTO guardrail_list_items (list_id, value, id, created_at)
                SELECT \(list), value, id, \(now) FROM unnest(\(values)::text[], \(ids)::text[]) AS t (value, id)
                ON CONFLICT (list_id, value) DO NOTHING
                """)
        }
    }

    public func removeItems(list: String, values: [String]) async throws {
        guard !values.isEmpty else { return }
        let client = self.client, logger = self.logger
        _ = try await run {
            try await client.writeAnywhere(logger: logger,
                "DELETE FROM guardrail_list_items WHERE list_id = \(list) AND value = ANY(\(values)::text[])")
        }
    }

    /// One page of a list's items, oldest first; `after` is the cursor of the previous page.
    public func items(list: String, after: String?, limit: Int) async throws -> (items: [ListItem], next: String?) {
        let client = self.client, logger = self.logger
        let cursor = try PageCursor.parse(after)
        return try await run {
            let query: PostgresQuery = if let cursor {
                """
                SELECT id, value, created_at FROM guardrail_list_items
                WHERE list_id = \(list) AND (created_at, id) > (\(cursor.date), \(cursor.id))
                ORDER BY created_at, id LIMIT \(limit + 1)
                """
            } else {
                "SELECT id, value, created_at FROM guardrail_list_items WHERE list_id = \(list) ORDER BY created_at, id LIMIT \(limit + 1)"
            }
            var items: [ListItem] = []
            for try await (id, value, created) in try await client.query(query, logger: logger).decode((String, String, Int64).self) {
                items.append(ListItem(id: id, value: value, createdAt: created))
            }
            guard items.count > limit else { return (items, nil) }
            items.removeLast()
            return (items, items.last.map { PageCursor(date: $0.createdAt, id: $0.id).text })
        }
    }

    public func itemCounts(lists: [String]) async throws -> [String: Int] {
        guard !lists.isEmpty else { return [:] }
        let client = self.client, logger = self.logger
        return try await run {
            var counts: [String: Int] = [:]
            let rows = try await client.query(
                "SELECT list_id, count(*) FROM guardrail_list_items WHERE list_id = ANY(\(lists)::text[]) GROUP BY list_id", logger: logger)
            for try await (list, count) in rows.decode((String, Int64).self) { counts[list] = Int(count) }
            return counts
        }
    }

    /// Which of `values` each of `lists` holds, as "list id \n value" keys.
    public func listed(lists: [String], values: [String]) async throws -> Set<String> {
        guard !lists.isEmpty, !values.isEmpty else { return [] }
        let client = self.client, logger = self.logger
        return try await run {
            var found: Set<String> = []
            let rows = try await client.query(
                "SELECT list_id, value FROM guardrail_list_items WHERE list_id = ANY(\(lists)::text[]) AND value = ANY(\(values)::text[])",
                logger: logger)
            for try await (list, value) in rows.decode((String, String).self) { found.insert(Self.membershipKey(list, value)) }
            return found
        }
    }

    public static func membershipKey(_ list: String, _ value: String) -> String { "\(list)\n\(value)" }

    // MARK: - Evaluations

    public func recordEvaluation(_ evaluation: RuleEvaluation) async throws {
        let client = self.client, logger = self.logger
        let record = String(decoding: try Self.encoder.encode(evaluation), as: UTF8.self)
        try await run {
            _ = try await client.query(
                """
                INSERT INTO rule_evaluations (id, grant_id, record, evaluated_at)
                SELECT \(evaluation.id), id, \(record)::jsonb, \(evaluation.evaluatedAt) FROM grants WHERE id = \(evaluation.grantID)::uuid
                ON CONFLICT (id) DO NOTHING
                """, logger: logger)
        }
    }

    /// Removes up to `limit` evaluations recorded before `cutoff` (unix seconds); returns how many.
    /// One batch per statement, so that no transaction grows with the backlog.
    public func pruneEvaluations(recordedBefore cutoff: Int64, limit: Int) async throws -> Int {
        let client = self.client, logger = self.logger
        return try await run {
            var removed = 0
            let rows = try await client.query(
                """
                DELETE FROM rule_evaluations WHERE id IN (
                    SELECT id FROM rule_evaluations WHERE evaluated_at < \(cutoff) LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """, logger: logger)
            for try await _ in rows.decode(Int.self) { removed += 1 }
            return removed
        }
    }

    /// A grant's evaluations, newest first; the cursor is the last one's place in the order of recording.
    public func evaluations(grant: GrantID, after: String?, limit: Int) async throws -> (evaluations: [RuleEvaluation], next: String?) {
        let client = self.client, logger = self.logger
        let before: Int64
        if let after {
            guard let value = Int64(after), value > 0 else { throw MailStoreError.invalidCursor }
            before = value
        } else {
            before = Int64.max
        }
        return try await run {
            var evaluations: [RuleEvaluation] = []
            var last: Int64 = 0
            let decoder = JSONDecoder()
            let rows = try await client.query(
                """
                SELECT record::text, seq FROM rule_evaluations WHERE grant_id = \(grant.rawValue)::uuid AND seq < \(before)
                ORDER BY seq DESC LIMIT \(limit + 1)
                """, logger: logger)
            for try await (record, seq) in rows.decode((String, Int64).self) {
                guard evaluations.count < limit else { return (evaluations, String(last)) }
                evaluations.append(try decoder.decode(RuleEvaluation.self, from: Data(record.utf8)))
                last = seq
            }
            return (evaluations, nil)
        }
    }
}

/// Revisions of guardrail changes: microseconds of the wall clock, with a few random low bits so
/// that two nodes changing an object in the same microsecond still differ, never going backwards
/// within a process. Between nodes the later change by their clocks wins, in every region alike.
public enum GuardrailRevision {
    private static let last = NIOLockedValueBox<Int64>(0)

    public static func next() -> Int64 {
        let candidate = WallClock.unixMicroseconds() * 16 + Int64.random(in: 0..<16)
        return last.withLockedValue { last in
            last = max(last + 1, candidate)
            return last
        }
    }
}
