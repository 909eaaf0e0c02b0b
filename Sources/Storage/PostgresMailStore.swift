import Foundation
import Logging
import MailCore
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO

/// The mail store of one region in that region's Postgres (schema and its reasons:
/// `MailStoreSchema`).
///
/// Every mutating call is one transaction that first takes the grant row (the mailbox lock, modseq
/// and quota counters), then does its work with set-based statements, writes its outbox events,
/// commits, and only then tells the `MailboxChangeNotifier`.
public struct PostgresMailStore: MailStore {
    public let client: PostgresClient
    /// Where the store's calls lease their connections; without it they go through `client`, each
    /// under a deadline of its own.
    public let pool: PostgresConnectionPool?
    public let logger: Logger
    /// The quota of a grant without a limit of its own (configuration).
    public var defaultQuotaBytes: Int64
    public var notifier: any MailboxChangeNotifier
    /// How long one store call may take before it fails.
    public var timeout: Duration
    /// How far back a reply whose references are unknown looks for a thread with its subject.
    public var threadSubjectWindowSeconds: Int64
    /// Where a submission hands its outbound jobs to this node's delivery (leased as they commit);
    /// without it, or when it has no room, the jobs are queued for any worker of the region.
    public var outboundHandoff: OutboundHandoff?

    /// Names this store's Postgres in `mailnode_postgres_errors_total{region}`.
    public var region: String {
        didSet { poolWait = Self.poolWaitTimer(region) }
    }
    /// `mailnode_postgres_pool_wait_seconds{region}`: how long a store call waited for a pooled
    /// connection (all 20 busy: the node needs more, or Postgres is slow to answer).
    private var poolWait: Timer
    /// Whether the last call that ended could not reach Postgres; shared by the store's copies.
    private let unreachable = NIOLockedValueBox(false)

    /// The last call that ended could not reach Postgres (down, unreachable, out of time).
    public var lastCallFoundStoreUnreachable: Bool { unreachable.withLockedValue { $0 } }

    public static let defaultThreadSubjectWindowSeconds: Int64 = 30 * 24 * 3600
    /// The largest page `listMessages` returns.
    public static let maximumPageSize = 1000

    public init(client: PostgresClient, pool: PostgresConnectionPool? = nil, logger: Logger, defaultQuotaBytes: Int64,
                notifier: any MailboxChangeNotifier = NoMailboxChangeNotifier(), region: String = "local",
                timeout: Duration = .seconds(10),
                threadSubjectWindowSeconds: Int64 = PostgresMailStore.defaultThreadSubjectWindowSeconds) {
        self.region = region
        self.poolWait = Self.poolWaitTimer(region)
        self.client = client
        self.pool = pool
        self.logger = logger
        self.defaultQuotaBytes = defaultQuotaBytes
        self.notifier = notifier
        self.timeout = timeout
        self.threadSubjectWindowSeconds = threadSubjectWindowSeconds
    }

    // MARK: - Transactions

    private static func poolWaitTimer(_ region: String) -> Timer {
        Timer(label: "mailnode_postgres_pool_wait_seconds", dimensions: [("region", region)])
    }

    /// Records the wait since `asked` for the connection the caller just got.
    private func leased(since asked: ContinuousClock.Instant) {
        poolWait.recordNanoseconds(Int64((ContinuousClock.now - asked) / .nanoseconds(1)))
    }

    /// Every call goes through here: bounded in time, and counted when Postgres failed (a typed
    /// `MailStoreError` is an answer, not a failure).
    func run<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            let result = try await reach(body)
            unreachable.withLockedValue { $0 = false }
            return result
        } catch let error as MailStoreError {
            unreachable.withLockedValue { $0 = false }
            throw error
        } catch {
            if let answer = Self.storeError(error) {
                unreachable.withLockedValue { $0 = false }
                throw answer
            }
            if PostgresErrors.isUnavailable(error) { unreachable.withLockedValue { $0 = true } }
            Counter(label: "mailnode_postgres_errors_total", dimensions: [("region", region)]).increment()
            throw error
        }
    }

    private func reach<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let asked = ContinuousClock.now
        let store = self
        if let pool {
            return try await pool.withConnection(timeout: timeout) { connection in
                store.leased(since: asked)
                return try await body(connection)
            }
        }
        let client = self.client
        return try await withDeadline(timeout, what: "Postgres") {
            try await client.withConnection { connection in
                store.leased(since: asked)
                return try await body(connection)
            }
        }
    }

    /// The answers the write functions give with their own SQLSTATE (`WritePathSchema`).
    static func storeError(_ error: any Error) -> MailStoreError? {
        guard let state = PostgresErrors.sqlState(error), state.hasPrefix("MN") else { return nil }
        switch state {
        case "MN001":
            let limit = (error as? PSQLError)?.serverInfo?[.message].flatMap { Int64($0) } ?? 0
            return .overQuota(limit: limit)
        case "MN002": return .noSuchFolder
        case "MN003": return .noSuchGrant
        case "MN004": return .noSuchMessage
        case "MN005": return .credentialsChanged
        case "MN006": return .rulesChanged
        default: return nil
        }
    }

    /// One call of a write function (`WritePathSchema`): a single prepared statement outside any
    /// explicit transaction, so Postgres commits it before it answers and the commit is the only wait.
    func call<S: HotStatement, Result: Sendable>(
        _ statement: S.Type, _ query: PostgresQuery,
        _ decode: @escaping @Sendable (AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await run { connection in
            try await decode(try await connection.run(statement, query, logger: logger))
        }
    }

    /// One announcement per commit: the folders one commit changed share its modseq. Told in the
    /// order given; a grant-wide announcement (no folder) is told on its own.
    func announce(_ grant: GrantID, _ announcements: [Announcement]) async {
        var run: (modseq: Int64, folderIDs: [String])?
        for announcement in announcements {
            if let folderID = announcement.folderID, run?.modseq == announcement.modseq {
                run?.folderIDs.append(folderID)
                continue
            }
            if let run { await tell(grant, run.folderIDs, run.modseq) }
            run = nil
            if let folderID = announcement.folderID {
                run = (announcement.modseq, [folderID])
            } else {
                await notifier.mailboxChanged(grant: grant, folderID: nil, modseq: announcement.modseq)
            }
        }
        if let run { await tell(grant, run.folderIDs, run.modseq) }
    }

    private func tell(_ grant: GrantID, _ folderIDs: [String], _ modseq: Int64) async {
        if folderIDs.count == 1 {
            await notifier.mailboxChanged(grant: grant, folderID: folderIDs[0], modseq: modseq)
        } else {
            await notifier.mailboxesChanged(grant: grant, folderIDs: folderIDs, modseq: modseq)
        }
    }

    /// The grant row after `lockGrant`: the modseq this transaction writes with, and the quota counters.
    struct GrantLock {
        var grant: GrantID
        var modseq: Int64
        var usedBytes: Int64
        var messageCount: Int64
        var limitBytes: Int64
        var now: Int64
    }

    /// A folder change to announce after commit.
    struct Announcement: Sendable {
        var folderID: String?
        var modseq: Int64
    }

    /// Runs `body` in one read-committed transaction; the body's own errors come out unwrapped.
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await run { connection in
            do {
                return try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError ?? error.beginError ?? error.commitError { throw inner }
                throw error
            }
        }
    }

    /// A mutating transaction on one grant: takes the grant lock first, runs `body`, commits, then
    /// announces what `body` reported.
    func mutate<Result: Sendable>(
        _ grant: GrantID,
        _ body: @escaping @Sendable (PostgresConnection, GrantLock) async throws -> (Result, [Announcement])
    ) async throws -> Result {
        let logger = self.logger, defaultQuota = self.defaultQuotaBytes
        let (result, announcements) = try await transaction { connection in
            let now = WallClock.unixSeconds()
            let rows = try await connection.query(
                """
                UPDATE grants SET mail_modseq = mail_modseq + 1 WHERE id = \(grant.rawValue)::uuid
                RETURNING mail_modseq, quota_used_bytes, quota_message_count, mail_storage_limit(quota_limit_bytes, workspace_id, \(defaultQuota))
                """, logger: logger)
            var lock: GrantLock?
            for try await (modseq, used, count, limit) in rows.decode((Int64, Int64, Int64, Int64).self) {
                lock = GrantLock(grant: grant, modseq: modseq, usedBytes: used, messageCount: count, limitBytes: limit, now: now)
            }
            guard let lock else { throw MailStoreError.noSuchGrant }
            return try await body(connection, lock)
        }
        await announce(grant, announcements)
        return result
    }

    /// Reads in one REPEATABLE READ snapshot, so that several statements agree with each other.
    func readSnapshot<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await run { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Plain reads that need no snapshot across statements.
    func read<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await run(body)
    }

    // MARK: - Folders

    public func folders(grant: GrantID) async throws -> [MailFolder] {
        let logger = self.logger
        return try await read { connection in
            try await Self.selectFolders(connection, logger: logger, grant: grant, where: nil)
        }
    }

    public func folder(grant: GrantID, id: String) async throws -> MailFolder? {
        let logger = self.logger
        return try await read { connection in
            try await Self.selectFolders(connection, logger: logger, grant: grant, where: .id(id)).first
        }
    }

    public func folder(grant: GrantID, name: String) async throws -> MailFolder? {
        guard let canonical = try? FolderName.validate(name) else { return nil }
        let logger = self.logger
        return try await read { connection in
            try await Self.selectFolders(connection, logger: logger, grant: grant, where: .name(canonical)).first
        }
    }

    public func appendTarget(grant: GrantID, name: String) async throws -> (MailFolder, QuotaUsage)? {
        guard let canonical = try? FolderName.validate(name) else { return nil }
        let logger = self.logger, defaultQuota = self.defaultQuotaBytes
        return try await read { connection in
            let rows = try await connection.run(AppendTargetStatement.self,
                                                Self.appendTargetQuery(grant: grant, name: canonical, defaultQuota: defaultQuota),
                                                logger: logger)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                let base = Self.folderColumnCount
                let usage = QuotaUsage(usedBytes: try cells[base].decode(Int64.self), limitBytes: try cells[base + 1].decode(Int64.self),
                                       messageCount: try cells[base + 2].decode(Int64.self))
                return (try Self.decodeFolder(cells), usage)
            }
            return nil
        }
    }

    public func createFolder(grant: GrantID, name: String, specialUse: String?) async throws -> MailFolder {
        let canonical = try FolderName.validate(name)
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            let wanted = FolderName.ancestors(of: canonical) + [canonical]
            let existing = try await Self.existingFolderNames(connection, logger: logger, grant: grant, names: wanted)
            guard !existing.contains(canonical) else { throw MailStoreError.folderExists }
            _ = try await Self.insertFolders(connection, logger: logger, lock: lock, names: wanted.filter { !existing.contains($0) },
                                             specialUse: specialUse)
            guard let folder = try await Self.selectFolders(connection, logger: logger, grant: grant, where: .name(canonical)).first else {
                throw MailStoreError.noSuchFolder
            }
            return (folder, [Announcement(folderID: nil, modseq: lock.modseq)])
        }
    }

    public func renameFolder(grant: GrantID, id: String, to newName: String) async throws -> MailFolder {
        let canonical = try FolderName.validate(newName)
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            guard let folder = try await Self.selectFolders(connection, logger: logger, grant: grant, where: .id(id)).first else {
                throw MailStoreError.noSuchFolder
            }
            guard folder.systemFolder == nil else { throw MailStoreError.cannotModifySystemFolder }
            let old = folder.name
            if canonical == old { return (folder, []) }
            guard !canonical.hasPrefix(old + "/") else { throw MailStoreError.invalidFolderName("a folder cannot move under itself") }
            // Any name the rename would produce that is already taken.
            let conflicts = try await connection.query(
                """
                SELECT count(*) FROM folders t
                WHERE t.grant_id = \(grant.rawValue)::uuid AND t.name IN (
                    SELECT \(canonical) || substr(s.name, length(\(old)) + 1) FROM folders s
                    WHERE s.grant_id = \(grant.rawValue)::uuid AND (s.name = \(old) OR left(s.name, length(\(old)) + 1) = \(old) || '/'))
                """, logger: logger)
            for try await count in conflicts.decode(Int64.self) where count > 0 { throw MailStoreError.folderExists }
            // Missing parents of the new name are created (RFC 9051 6.3.6 SHOULD).
            let ancestors = FolderName.ancestors(of: canonical)
            let existing = try await Self.existingFolderNames(connection, logger: logger, grant: grant, names: ancestors)
            _ = try await Self.insertFolders(connection, logger: logger, lock: lock, names: ancestors.filter { !existing.contains($0) })
            let renamed = try await connection.query(
                """
                UPDATE folders SET name = \(canonical) || substr(name, length(\(old)) + 1)
                WHERE grant_id = \(grant.rawValue)::uuid AND (name = \(old) OR left(name, length(\(old)) + 1) = \(old) || '/')
                RETURNING id
                """, logger: logger)
            var ids: [String] = []
            for try await renamedID in renamed.decode(String.self) { ids.append(renamedID) }
            try await Self.insertFolderEvents(connection, logger: logger, lock: lock, ids: ids, type: "folder.updated")
            guard let result = try await Self.selectFolders(connection, logger: logger, grant: grant, where: .id(id)).first else {
                throw MailStoreError.noSuchFolder
            }
            return (result, [Announcement(folderID: nil, modseq: lock.modseq)])
        }
    }

    public func deleteFolder(grant: GrantID, id: String) async throws {
        let logger = self.logger
        try await mutate(grant) { connection, lock in
            guard let folder = try await Self.selectFolders(connection, logger: logger, grant: grant, where: .id(id)).first else {
                throw MailStoreError.noSuchFolder
            }
            guard folder.systemFolder == nil else { throw MailStoreError.cannotModifySystemFolder }
            let rows = try await connection.query(
                "SELECT id FROM messages WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(id) ORDER BY uid",
                logger: logger)
            var messageIDs: [String] = []
            for try await messageID in rows.decode(String.self) { messageIDs.append(messageID) }
            try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: messageIDs, tombstones: false)
            // The event is written before the row goes: its payload is the folder as it was.
            try await Self.insertFolderEvents(connection, logger: logger, lock: lock, ids: [id], type: "folder.deleted")
            try await connection.query(
                "DELETE FROM expunged_messages WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(id)", logger: logger)
            try await connection.query("DELETE FROM folders WHERE grant_id = \(grant.rawValue)::uuid AND id = \(id)", logger: logger)
            return ((), [Announcement(folderID: nil, modseq: lock.modseq)])
        }
    }

    public func quota(grant: GrantID) async throws -> QuotaUsage {
        let logger = self.logger, defaultQuota = self.defaultQuotaBytes
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT quota_used_bytes, mail_storage_limit(quota_limit_bytes, workspace_id, \(defaultQuota)), quota_message_count
                FROM grants WHERE id = \(grant.rawValue)::uuid
                """, logger: logger)
            for try await (used, limit, count) in rows.decode((Int64, Int64, Int64).self) {
                return QuotaUsage(usedBytes: used, limitBytes: limit, messageCount: count)
            }
            throw MailStoreError.noSuchGrant
        }
    }

    public func setQuotaLimit(grant: GrantID, bytes: Int64?) async throws {
        let logger = self.logger
        try await read { connection in
            let rows = try await connection.query(
                "UPDATE grants SET quota_limit_bytes = \(bytes) WHERE id = \(grant.rawValue)::uuid RETURNING id::text", logger: logger)
            var found = false
            for try await _ in rows.decode(String.self) { found = true }
            guard found else { throw MailStoreError.noSuchGrant }
        }
    }

    // MARK: - Folder rows

    enum FolderFilter {
        case id(String)
        case name(String)
    }

    /// The seed's order of the system folders, then custom folders by name.
    static let folderColumns = """
        f.id, f.name, f.system_role, f.uid_validity, f.uid_next, f.highest_modseq, f.created_at,
        (SELECT p.id FROM folders p WHERE p.grant_id = f.grant_id AND strpos(f.name, '/') > 0
            AND p.name = regexp_replace(f.name, '/[^/]*$', '')) AS parent_id,
        f.message_count, f.unseen_count, f.deleted_count, f.size_bytes, f.first_recent_uid, f.special_use
        """

    static func selectFolders(_ connection: PostgresConnection, logger: Logger, grant: GrantID, where filter: FolderFilter?) async throws -> [MailFolder] {
        let query = foldersQuery(grant: grant, filter: filter)
        let rows = switch filter {
        case nil: try await connection.run(FoldersStatement.self, query, logger: logger)
        case .some(.id): try await connection.run(FolderByIDStatement.self, query, logger: logger)
        case .some(.name): try await connection.run(FolderByNameStatement.self, query, logger: logger)
        }
        var folders: [MailFolder] = []
        for try await row in rows {
            folders.append(try decodeFolder(row))
        }
        return folders
    }

    static let folderColumnCount = 14

    /// A row of `folderColumns`, from its first column on.
    static func decodeFolder(_ row: PostgresRow) throws -> MailFolder {
        try decodeFolder(row.makeRandomAccess())
    }

    static func decodeFolder(_ cells: PostgresRandomAccessRow) throws -> MailFolder {
        let (id, name, role) = (try cells[0].decode(String.self), try cells[1].decode(String.self), try cells[2].decode(String?.self))
        let (validity, next, modseq, created) = (try cells[3].decode(Int64.self), try cells[4].decode(Int64.self),
                                                 try cells[5].decode(Int64.self), try cells[6].decode(Int64.self))
        let parent = try cells[7].decode(String?.self)
        let (total, unseen, deleted, bytes) = (try cells[8].decode(Int64.self), try cells[9].decode(Int64.self),
                                               try cells[10].decode(Int64.self), try cells[11].decode(Int64.self))
        return MailFolder(id: id, name: name, parentID: parent, systemFolder: role.flatMap(SystemFolder.init(rawValue:)),
                          uidValidity: validity, uidNext: next, highestModseq: modseq, totalCount: Int(total),
                          unseenCount: Int(unseen), deletedCount: Int(deleted), sizeBytes: bytes,
                          firstRecentUID: try cells[12].decode(Int64.self), createdAt: created,
                          specialUse: try cells[13].decode(String?.self))
    }

    static func existingFolderNames(_ connection: PostgresConnection, logger: Logger, grant: GrantID, names: [String]) async throws -> Set<String> {
        guard !names.isEmpty else { return [] }
        let rows = try await connection.query(
            "SELECT name FROM folders WHERE grant_id = \(grant.rawValue)::uuid AND name = ANY(\(names)::text[])", logger: logger)
        var found = Set<String>()
        for try await name in rows.decode(String.self) { found.insert(name) }
        return found
    }

    /// Inserts custom folders (parents first) and their `folder.created` events; returns their ids.
    /// The last one gets `specialUse`.
    static func insertFolders(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, names: [String],
                              specialUse: String? = nil) async throws -> [String] {
        var ids: [String] = []
        for (index, name) in names.enumerated() {
            let use = index == names.count - 1 ? specialUse : nil
            // A handful of hierarchy levels at most: one row each.
            let id = ObjectIDGenerator.random()
            try await connection.query(
                """
                INSERT INTO folders (grant_id, id, name, system_role, special_use, uid_validity, uid_next, highest_modseq, created_at)
                VALUES (\(lock.grant.rawValue)::uuid, \(id), \(name), NULL, \(use), nextval('folder_uid_validity'), 1, \(lock.modseq), \(lock.now))
                """, logger: logger)
            ids.append(id)
        }
        try await insertFolderEvents(connection, logger: logger, lock: lock, ids: ids, type: "folder.created")
        return ids
    }

    static func insertFolderEvents(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String], type: String) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT f.grant_id, 'folder', f.id, \(type), jsonb_build_object(
                'object', 'folder', 'id', f.id, 'grant_id', f.grant_id::text, 'name', f.name,
                'parent_id', (SELECT p.id FROM folders p WHERE p.grant_id = f.grant_id AND strpos(f.name, '/') > 0
                              AND p.name = regexp_replace(f.name, '/[^/]*$', '')),
                'system_folder', f.system_role IS NOT NULL,
                'attributes', CASE WHEN f.special_use IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(f.special_use) END),
                \(lock.now), \(lock.now)
            FROM folders f WHERE f.grant_id = \(lock.grant.rawValue)::uuid AND f.id = ANY(\(ids)::text[])
            ORDER BY f.name
            """, logger: logger)
    }

    /// The folder row a transaction works on, under the grant lock.
    struct FolderRow {
        var id: String
        var systemRole: String?
        var uidValidity: Int64
    }

    static func requireFolders(_ connection: PostgresConnection, logger: Logger, grant: GrantID, ids: [String]) async throws -> [String: FolderRow] {
        let rows = try await connection.query(
            "SELECT id, system_role, uid_validity FROM folders WHERE grant_id = \(grant.rawValue)::uuid AND id = ANY(\(ids)::text[])",
            logger: logger)
        var found: [String: FolderRow] = [:]
        for try await (id, role, validity) in rows.decode((String, String?, Int64).self) {
            found[id] = FolderRow(id: id, systemRole: role, uidValidity: validity)
        }
        guard Set(ids).isSubset(of: Set(found.keys)) else { throw MailStoreError.noSuchFolder }
        return found
    }

    /// The Trash folder of the grant (system role `trash`).
    static func trashFolder(_ connection: PostgresConnection, logger: Logger, grant: GrantID) async throws -> FolderRow {
        let rows = try await connection.query(
            "SELECT id, system_role, uid_validity FROM folders WHERE grant_id = \(grant.rawValue)::uuid AND system_role = 'trash'",
            logger: logger)
        for try await (id, role, validity) in rows.decode((String, String?, Int64).self) {
            return FolderRow(id: id, systemRole: role, uidValidity: validity)
        }
        throw MailStoreError.noSuchFolder
    }
}
