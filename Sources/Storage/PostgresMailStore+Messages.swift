import Foundation
import Logging
import MailCore
import PostgresNIO

extension PostgresMailStore {
    // MARK: - APPEND

    public func append(grant: GrantID, folderID: String, raw: [UInt8], facts: MessageFacts, flags: MessageFlags,
                       internalDate: Int64) async throws -> AppendResult {
        try await append(grant: grant, folderID: folderID,
                         messages: [NewMessage(raw: raw, facts: facts, flags: flags, internalDate: internalDate)])[0]
    }

    public func append(grant: GrantID, folderID: String, messages: [NewMessage], claimingRecent: Bool) async throws -> [AppendResult] {
        guard !messages.isEmpty else { return [] }
        let facts = try messages.map { message in
            let bounded = message.facts.bounded
            return FactsJSON(bounded, participants: try ParticipantJSON(bounded), flags: message.flags,
                             internalDate: message.internalDate, exemptFromQuota: message.exemptFromQuota)
        }
        let raw = messages.map { ByteBuffer(bytes: $0.raw) }
        let now = WallClock.unixSeconds()
        let query = Self.appendQuery(grant: grant, folderID: folderID, now: now, defaultQuota: defaultQuotaBytes,
                                     window: threadSubjectWindowSeconds, raw: raw, facts: FactsJSON.array(of: facts),
                                     claimingRecent: claimingRecent)
        let results = try await call(AppendStatement.self, query) { rows in
            var results: [AppendResult] = []
            for try await (id, uid, validity, modseq, thread, deduplicated, claimed)
                in rows.decode((String, Int64, Int64, Int64, String, Bool, Bool).self) {
                results.append(AppendResult(messageID: id, uid: uid, uidValidity: validity, modseq: modseq, threadID: thread,
                                            deduplicated: deduplicated, claimedRecent: claimed,
                                            storedAt: deduplicated ? nil : now))
            }
            return results
        }
        if let stored = results.first(where: { !$0.deduplicated }) {
            await announce(grant, [Announcement(folderID: folderID, modseq: stored.modseq)])
        }
        return results
    }

    // MARK: - SELECT, FETCH, changes

    /// One statement, so one snapshot: the folder row with its messages' UIDs, flags (space
    /// separated: a flag is an atom) and modseqs as arrays in UID order.
    public func snapshot(grant: GrantID, folderID: String) async throws -> MailboxSnapshot {
        guard let snapshot = try await snapshot(grant: grant, where: .id(folderID)) else { throw MailStoreError.noSuchFolder }
        return snapshot
    }

    public func snapshot(grant: GrantID, name: String) async throws -> MailboxSnapshot? {
        guard let canonical = try? FolderName.validate(name) else { return nil }
        return try await snapshot(grant: grant, where: .name(canonical))
    }

    private func snapshot(grant: GrantID, where filter: FolderFilter) async throws -> MailboxSnapshot? {
        let logger = self.logger
        return try await read { connection in
            let rows = switch filter {
            case .id(let id): try await connection.run(SnapshotByIDStatement.self, Self.snapshotQuery(grant: grant, id: id), logger: logger)
            case .name(let name):
                try await connection.run(SnapshotByNameStatement.self, Self.snapshotQuery(grant: grant, name: name), logger: logger)
            }
            for try await row in rows {
                let cells = row.makeRandomAccess()
                let folder = try Self.decodeFolder(cells)
                let base = Self.folderColumnCount
                let uids = try BinaryArrayCell.int64s(cells[base]), flags = try BinaryArrayCell.strings(cells[base + 1])
                let modseqs = try BinaryArrayCell.int64s(cells[base + 2])
                var messages: [MailboxSnapshot.Message] = []
                messages.reserveCapacity(uids.count)
                // A folder's messages share a handful of flag sets: each is parsed once.
                var parsedFlags: [String: MessageFlags] = [:]
                for index in uids.indices {
                    let text = flags[index]
                    let parsed: MessageFlags
                    if let known = parsedFlags[text] {
                        parsed = known
                    } else {
                        parsed = MessageFlags(text.split(separator: " ").map(String.init))
                        parsedFlags[text] = parsed
                    }
                    messages.append(MailboxSnapshot.Message(uid: uids[index], flags: parsed, modseq: modseqs[index]))
                }
                if !zip(messages, messages.dropFirst()).allSatisfy({ $0.uid < $1.uid }) {
                    messages.sort { $0.uid < $1.uid }
                }
                return MailboxSnapshot(folder: folder, messages: messages)
            }
            return nil
        }
    }

    public func fetch(grant: GrantID, folderID: String, uids: UIDSet, includeRaw: Bool) async throws -> [StoredMessage] {
        guard !uids.isEmpty else { return [] }
        let logger = self.logger
        return try await read { connection in
            let query = Self.fetchQuery(grant: grant, folderID: folderID, uids: uids, includeRaw: includeRaw)
            let rows = includeRaw ? try await connection.run(FetchWithRawStatement.self, query, logger: logger)
                                  : try await connection.run(FetchStatement.self, query, logger: logger)
            var messages: [StoredMessage] = []
            for try await row in rows { messages.append(try Self.decodeMessage(row, grant: grant, includeRaw: includeRaw)) }
            return messages
        }
    }

    /// One statement, so one snapshot: the folder's state, the messages whose modseq is above
    /// `modseq` (arrived_modseq <= modseq always, so one range scan on (folder, modseq) finds
    /// additions and flag changes), and the tombstones above it.
    public func changes(grant: GrantID, folderID: String, since modseq: Int64, claimingRecent: Bool) async throws -> FolderChanges {
        let logger = self.logger
        return try await read { connection in
            let rows = claimingRecent
                ? try await connection.run(ChangesClaimingRecentStatement.self,
                                           Self.changesClaimingRecentQuery(grant: grant, folderID: folderID, since: modseq), logger: logger)
                : try await connection.run(ChangesStatement.self, Self.changesQuery(grant: grant, folderID: folderID, since: modseq),
                                           logger: logger)
            var state: (validity: Int64, next: Int64, highest: Int64, horizon: Int64, name: String?)?
            var added: [MessageState] = [], changed: [MessageState] = [], expunged: [Int64] = []
            var firstClaimedRecent: Int64?
            for try await (kind, first, second, third, id, flags, horizon)
                in rows.decode((Int32, Int64, Int64, Int64?, String?, [String]?, Int64?).self) {
                switch kind {
                case 0: state = (first, second, third ?? 0, horizon ?? 0, id)
                case 1:
                    let message = MessageState(uid: first, messageID: id ?? "", flags: MessageFlags(flags ?? []), modseq: second)
                    if (third ?? 0) > modseq { added.append(message) } else { changed.append(message) }
                case 2: expunged.append(first)
                default: firstClaimedRecent = first
                }
            }
            guard let state else { throw MailStoreError.noSuchFolder }
            added.sort { $0.uid < $1.uid }
            changed.sort { $0.uid < $1.uid }
            expunged.sort()
            return FolderChanges(uidValidity: state.validity, uidNext: state.next, highestModseq: state.highest, added: added,
                                 changed: changed, expunged: expunged, firstClaimedRecent: firstClaimedRecent,
                                 vanishedHorizon: state.horizon, folderName: state.name)
        }
    }

    // MARK: - STORE

    public func storeFlags(grant: GrantID, folderID: String, uids: UIDSet, operation: FlagOperation,
                           unchangedSince: Int64?) async throws -> FlagStoreResult {
        guard !uids.isEmpty else { return FlagStoreResult(changed: [], failedCondition: []) }
        var isReplace = false
        var replacement: [String] = [], added: [String] = [], removed: [String] = []
        switch operation {
        case .add(let flags): added = flags.names
        case .remove(let flags): removed = flags.names
        case .replace(let flags):
            isReplace = true
            replacement = flags.names
        }
        let query = Self.storeFlagsQuery(grant: grant, folderID: folderID, now: WallClock.unixSeconds(), defaultQuota: defaultQuotaBytes,
                                         uids: uids, isReplace: isReplace, replacement: replacement, added: added, removed: removed,
                                         unchangedSince: unchangedSince)
        let result = try await call(StoreFlagsStatement.self, query) { rows in
            var changed: [MessageState] = [], failed: [Int64] = []
            for try await (kind, uid, id, flags, modseq) in rows.decode((String, Int64, String, [String], Int64).self) {
                if kind == "failed" {
                    failed.append(uid)
                } else {
                    changed.append(MessageState(uid: uid, messageID: id, flags: MessageFlags(flags), modseq: modseq))
                }
            }
            return FlagStoreResult(changed: changed, failedCondition: failed)
        }
        if let modseq = result.changed.first?.modseq {
            await announce(grant, [Announcement(folderID: folderID, modseq: modseq)])
        }
        return result
    }

    // MARK: - COPY, MOVE, EXPUNGE

    public func copy(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping {
        try await copyOrMove(grant: grant, from: folderID, uids: uids, to: destinationID, move: false)
    }

    public func move(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping {
        try await copyOrMove(grant: grant, from: folderID, uids: uids, to: destinationID, move: true)
    }

    private func copyOrMove(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String,
                            move: Bool) async throws -> UIDMapping {
        guard !uids.isEmpty else {
            guard let destination = try await folder(grant: grant, id: destinationID) else { throw MailStoreError.noSuchFolder }
            return UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: [])
        }
        let query = Self.copyQuery(grant: grant, source: folderID, destination: destinationID, now: WallClock.unixSeconds(),
                                   defaultQuota: defaultQuotaBytes, uids: uids, move: move)
        let (mapping, modseq) = try await call(CopyStatement.self, query) { rows in
            var pairs: [(source: Int64, destination: Int64)] = []
            var validity: Int64 = 0, modseq: Int64 = 0
            for try await (source, destination, uidValidity, rowModseq) in rows.decode((Int64?, Int64?, Int64, Int64).self) {
                validity = uidValidity
                modseq = rowModseq
                if let source, let destination { pairs.append((source, destination)) }
            }
            return (UIDMapping(destinationUIDValidity: validity, pairs: pairs), modseq)
        }
        if !mapping.pairs.isEmpty {
            await announce(grant, move ? Self.announce(modseq, [folderID, destinationID]) : Self.announce(modseq, [destinationID]))
        }
        return mapping
    }

    public func expunge(grant: GrantID, folderID: String, uids: UIDSet?) async throws -> ExpungeResult {
        let query = Self.expungeQuery(grant: grant, folderID: folderID, now: WallClock.unixSeconds(), defaultQuota: defaultQuotaBytes,
                                      uids: uids)
        let (result, trashID, modseq) = try await call(ExpungeStatement.self, query) { rows in
            var expunged: [Int64] = [], pairs: [(source: Int64, destination: Int64)] = []
            var trashValidity: Int64?, trashID: String?, modseq: Int64 = 0
            for try await (uid, trashUID, validity, trash, rowModseq) in rows.decode((Int64, Int64?, Int64?, String?, Int64).self) {
                expunged.append(uid)
                modseq = rowModseq
                if let trashUID, let validity {
                    pairs.append((uid, trashUID))
                    trashValidity = validity
                    trashID = trash
                }
            }
            let moved = trashValidity.map { UIDMapping(destinationUIDValidity: $0, pairs: pairs) }
            return (ExpungeResult(expunged: expunged, movedToTrash: moved, modseq: expunged.isEmpty ? nil : modseq), trashID, modseq)
        }
        if !result.expunged.isEmpty {
            await announce(grant, Self.announce(modseq, [folderID] + (trashID.map { [$0] } ?? [])))
        }
        return result
    }

    // MARK: - API

    public func message(grant: GrantID, id: String, includeRaw: Bool) async throws -> StoredMessage? {
        let logger = self.logger
        return try await read { connection in
            try await Self.selectMessage(connection, logger: logger, grant: grant, id: id, includeRaw: includeRaw)
        }
    }

    public func messages(grant: GrantID, ids: [String], includeRaw: Bool) async throws -> [StoredMessage] {
        guard !ids.isEmpty else { return [] }
        let logger = self.logger
        let found = try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: includeRaw ? Self.messageColumnsWithRaw : Self.messageColumns)
                FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
                WHERE m.grant_id = \(grant.rawValue)::uuid AND m.id = ANY(\(ids)::text[])
                """, logger: logger)
            var messages: [String: StoredMessage] = [:]
            for try await row in rows {
                let message = try Self.decodeMessage(row, grant: grant, includeRaw: includeRaw)
                messages[message.id] = message
            }
            return messages
        }
        return ids.compactMap { found[$0] }
    }

    public func listMessages(grant: GrantID, folderID: String?, cursor: String?, limit: Int) async throws -> MessagePage {
        let pageSize = max(1, min(limit, Self.maximumPageSize))
        let after = try PageCursor.parse(cursor)
        let logger = self.logger
        return try await read { connection in
            let (afterDate, afterID) = (after?.date, after?.id)
            if let folderID {
                _ = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID])
            }
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.messageColumns)
                FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
                WHERE m.grant_id = \(grant.rawValue)::uuid AND (\(folderID)::text IS NULL OR m.folder_id = \(folderID)::text)
                  AND (\(afterDate)::bigint IS NULL OR (m.internal_date, m.id) < (\(afterDate)::bigint, \(afterID)::text))
                ORDER BY m.internal_date DESC, m.id DESC
                LIMIT \(pageSize + 1)
                """, logger: logger)
            var messages: [StoredMessage] = []
            for try await row in rows { messages.append(try Self.decodeMessage(row, grant: grant, includeRaw: false)) }
            var next: String?
            if messages.count > pageSize {
                messages.removeLast()
                if let last = messages.last { next = PageCursor(date: last.internalDate, id: last.id).text }
            }
            return MessagePage(messages: messages, nextCursor: next)
        }
    }

    public func updateMessage(grant: GrantID, id: String, _ update: MessageUpdate) async throws -> StoredMessage {
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            guard let current = try await Self.selectMessage(connection, logger: logger, grant: grant, id: id, includeRaw: false) else {
                throw MailStoreError.noSuchMessage
            }
            var flags = current.flags
            if let unread = update.unread {
                flags = unread ? flags.subtracting([MessageFlags.seen]) : flags.union([MessageFlags.seen])
            }
            if let starred = update.starred {
                flags = starred ? flags.union([MessageFlags.flagged]) : flags.subtracting([MessageFlags.flagged])
            }
            var touched: [String] = []
            if flags != current.flags {
                try await connection.query(
                    """
                    UPDATE messages SET flags = \(flags.names)::text[], modseq = \(lock.modseq), updated_at = \(lock.now)
                    WHERE grant_id = \(grant.rawValue)::uuid AND id = \(id)
                    """, logger: logger)
                try await Self.touchFolders(connection, logger: logger, lock: lock, ids: [current.folderID])
                touched.append(current.folderID)
            }
            if let destinationID = update.folderID, destinationID != current.folderID {
                let destination = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [destinationID])[destinationID]!
                _ = try await Self.moveRows(connection, logger: logger, lock: lock, source: current.folderID, destination: destination,
                                            rows: [MessageRow(id: id, uid: current.uid, size: current.size)], clearDeleted: false)
                touched += [current.folderID, destinationID]
            }
            guard !touched.isEmpty else { return (current, []) }
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: [id], type: "message.updated")
            guard let updated = try await Self.selectMessage(connection, logger: logger, grant: grant, id: id, includeRaw: false) else {
                throw MailStoreError.noSuchMessage
            }
            return (updated, Self.announce(lock, touched))
        }
    }

    public func deleteMessage(grant: GrantID, id: String) async throws {
        let logger = self.logger
        try await mutate(grant) { connection, lock in
            let rows = try await connection.query(
                """
                SELECT m.id, m.uid, m.size, m.folder_id, f.system_role FROM messages m
                JOIN folders f ON f.grant_id = m.grant_id AND f.id = m.folder_id
                WHERE m.grant_id = \(grant.rawValue)::uuid AND m.id = \(id)
                """, logger: logger)
            var found: (MessageRow, String, String?)?
            for try await (id, uid, size, folderID, role) in rows.decode((String, Int64, Int64, String, String?).self) {
                found = (MessageRow(id: id, uid: uid, size: size), folderID, role)
            }
            guard let (row, folderID, role) = found else { throw MailStoreError.noSuchMessage }
            if role == SystemFolder.trash.rawValue {
                try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: [id], tombstones: true)
                return ((), [Announcement(folderID: folderID, modseq: lock.modseq)])
            }
            let trash = try await Self.trashFolder(connection, logger: logger, grant: grant)
            _ = try await Self.moveRows(connection, logger: logger, lock: lock, source: folderID, destination: trash, rows: [row],
                                        clearDeleted: true)
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: [id], type: "message.updated")
            return ((), Self.announce(lock, folderID, trash.id))
        }
    }

    // MARK: - Shared steps (all run under the grant lock)

    struct MessageRow: Sendable {
        var id: String
        var uid: Int64
        var size: Int64
    }

    static func announce(_ lock: GrantLock, _ folderIDs: String...) -> [Announcement] { announce(lock.modseq, folderIDs) }

    static func announce(_ lock: GrantLock, _ folderIDs: [String]) -> [Announcement] { announce(lock.modseq, folderIDs) }

    static func announce(_ modseq: Int64, _ folderIDs: [String]) -> [Announcement] {
        var seen = Set<String>()
        return folderIDs.filter { seen.insert($0).inserted }.map { Announcement(folderID: $0, modseq: modseq) }
    }

    /// Takes `count` UIDs from the folder, inside the inserting transaction, and marks the folder
    /// changed at this modseq. Returns the first.
    static func allocateUIDs(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, folderID: String, count: Int) async throws -> Int64 {
        let rows = try await connection.query(
            """
            UPDATE folders SET uid_next = uid_next + \(Int64(count)), highest_modseq = \(lock.modseq)
            WHERE grant_id = \(lock.grant.rawValue)::uuid AND id = \(folderID)
            RETURNING uid_next - \(Int64(count))
            """, logger: logger)
        for try await first in rows.decode(Int64.self) { return first }
        throw MailStoreError.noSuchFolder
    }

    static func touchFolders(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String]) async throws {
        try await connection.query(
            """
            UPDATE folders SET highest_modseq = \(lock.modseq)
            WHERE grant_id = \(lock.grant.rawValue)::uuid AND id = ANY(\(ids)::text[])
            """, logger: logger)
    }

    static func adjustQuota(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, bytes: Int64, messages: Int64) async throws {
        try await connection.query(
            """
            UPDATE grants SET quota_used_bytes = quota_used_bytes + \(bytes), quota_message_count = quota_message_count + \(messages)
            WHERE id = \(lock.grant.rawValue)::uuid
            """, logger: logger)
    }

    /// Moves rows (in the order given) to `destination`, keeping their ids: new UIDs there, tombstones in the source.
    static func moveRows(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, source: String, destination: FolderRow,
                         rows: [MessageRow], clearDeleted: Bool) async throws -> UIDMapping {
        let result = try await connection.query(
            """
            SELECT mail_move_rows(\(lock.grant.rawValue)::uuid, \(lock.modseq), \(lock.now), \(source), \(destination.id),
                                  \(rows.map(\.id))::text[], \(rows.map(\.uid))::bigint[], \(clearDeleted))
            """, logger: logger)
        var base: Int64 = 0
        for try await first in result.decode(Int64.self) { base = first }
        let pairs = rows.enumerated().map { (source: $1.uid, destination: base + Int64($0)) }
        return UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: pairs)
    }

    /// Deletes messages for good (`mail_delete_for_good`): events, tombstones unless the folder goes
    /// too, quota released, unused bytes freed.
    static func deleteMessagesForGood(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String],
                                      tombstones: Bool) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            """
            SELECT mail_delete_for_good(\(lock.grant.rawValue)::uuid, \(lock.modseq), \(lock.now), \(ids)::text[], \(tombstones))
            """, logger: logger)
    }

    static func insertMessageEvents(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String], type: String) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            "SELECT mail_message_events(\(lock.grant.rawValue)::uuid, \(ids)::text[], \(type), \(lock.now))", logger: logger)
    }

    // MARK: - Message rows

    static let messageColumns = """
        m.id, m.folder_id, m.uid, m.thread_id, m.flags, m.modseq, m.internal_date, m.size, m.created_at, m.updated_at,
        c.message_id_header, c.in_reply_to, c.refs, c.subject, c.normalized_subject, c.subject_reply_prefix,
        c.from_json::text, c.to_json::text, c.cc_json::text, c.bcc_json::text, c.reply_to_json::text,
        c.sent_date, c.snippet, c.has_attachments, c.envelope, c.body_structure, c.body, c.extra::text,
        COALESCE(m.saved_at, m.created_at)
        """
    static let messageColumnsWithRaw = messageColumns + ", c.raw"

    static func selectMessage(_ connection: PostgresConnection, logger: Logger, grant: GrantID, id: String,
                              includeRaw: Bool) async throws -> StoredMessage? {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: includeRaw ? messageColumnsWithRaw : messageColumns)
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = \(grant.rawValue)::uuid AND m.id = \(id)
            """, logger: logger)
        for try await row in rows { return try decodeMessage(row, grant: grant, includeRaw: includeRaw) }
        return nil
    }

    static func decodeMessage(_ row: PostgresRow, grant: GrantID, includeRaw: Bool) throws -> StoredMessage {
        let cells = row.makeRandomAccess()
        func participants(_ index: Int) throws -> [Participant] {
            try ParticipantJSON.decode(try cells[index].decode(String.self))
        }
        var facts = MessageFacts(
            messageIDHeader: try cells[10].decode(String?.self), inReplyTo: try cells[11].decode([String].self),
            references: try cells[12].decode([String].self), subject: try cells[13].decode(String?.self),
            from: try participants(16), to: try participants(17), cc: try participants(18), bcc: try participants(19),
            replyTo: try participants(20), sentDate: try cells[21].decode(Int64?.self), snippet: try cells[22].decode(String.self),
            hasAttachments: try cells[23].decode(Bool.self), envelope: try cells[24].decode(String.self),
            bodyStructure: try cells[25].decode(String.self), body: try cells[26].decode(String.self),
            extraJSON: try cells[27].decode(String.self))
        facts.normalizedSubject = try cells[14].decode(String.self)
        facts.subjectHasReplyPrefix = try cells[15].decode(Bool.self)
        var raw: [UInt8]?
        if includeRaw {
            var buffer = try cells[29].decode(ByteBuffer.self)
            raw = buffer.readBytes(length: buffer.readableBytes)
        }
        return StoredMessage(
            id: try cells[0].decode(String.self), grantID: grant, folderID: try cells[1].decode(String.self),
            uid: try cells[2].decode(Int64.self), threadID: try cells[3].decode(String.self),
            flags: MessageFlags(try cells[4].decode([String].self)), modseq: try cells[5].decode(Int64.self),
            internalDate: try cells[6].decode(Int64.self), size: try cells[7].decode(Int64.self), facts: facts, raw: raw,
            createdAt: try cells[8].decode(Int64.self), updatedAt: try cells[9].decode(Int64.self),
            savedAt: try cells[28].decode(Int64.self))
    }
}
