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

    public func append(grant: GrantID, folderID: String, messages: [NewMessage]) async throws -> [AppendResult] {
        guard !messages.isEmpty else { return [] }
        let logger = self.logger, window = threadSubjectWindowSeconds
        let prepared = try messages.map { message in
            let facts = message.facts.bounded
            return (message, facts, try ParticipantJSON(facts))
        }
        return try await mutate(grant) { connection, lock in
            let folder = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID])[folderID]!
            var results: [AppendResult] = []
            var used = lock.usedBytes
            for (message, facts, participants) in prepared {
                // Seed: APPEND deduplicates on Message-ID within the target folder. The grant lock
                // makes two concurrent APPENDs of one message see each other.
                if let header = facts.messageIDHeader {
                    let rows = try await connection.query(
                        """
                        SELECT id, uid, modseq, thread_id FROM messages
                        WHERE grant_id = \(grant.rawValue)::uuid AND message_id_header = \(header) AND folder_id = \(folderID)
                        ORDER BY uid LIMIT 1
                        """, logger: logger)
                    var existing: AppendResult?
                    for try await (id, uid, modseq, thread) in rows.decode((String, Int64, Int64, String).self) {
                        existing = AppendResult(messageID: id, uid: uid, uidValidity: folder.uidValidity, modseq: modseq,
                                                threadID: thread, deduplicated: true)
                    }
                    if let existing {
                        results.append(existing)
                        continue
                    }
                }
                let size = Int64(message.raw.count)
                guard used + size <= lock.limitBytes || message.exemptFromQuota else { throw MailStoreError.overQuota(limit: lock.limitBytes) }
                used += size
                let (messageID, uid, threadID) = try await Self.insertMessage(
                    connection, logger: logger, lock: lock, folderID: folderID, raw: ByteBuffer(bytes: message.raw), size: size,
                    facts: facts, participants: participants, flags: message.flags, internalDate: message.internalDate, window: window)
                results.append(AppendResult(messageID: messageID, uid: uid, uidValidity: folder.uidValidity, modseq: lock.modseq,
                                            threadID: threadID, deduplicated: false))
            }
            let stored = results.contains { !$0.deduplicated }
            return (results, stored ? [Announcement(folderID: folderID, modseq: lock.modseq)] : [])
        }
    }

    /// Stores the bytes (once per grant) and a new message row in `folderID` with the next UID, the
    /// quota effect and `message.created`. The caller has checked the quota.
    static func insertMessage(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, folderID: String, raw: ByteBuffer,
                              size: Int64, facts: MessageFacts, participants: ParticipantJSON, flags: MessageFlags,
                              internalDate: Int64, window: Int64) async throws -> (id: String, uid: Int64, threadID: String) {
        let grant = lock.grant
        let threadID = try await resolveThread(connection, logger: logger, grant: grant, facts: facts,
                                               internalDate: internalDate, window: window)
        let digest = try await storeContent(connection, logger: logger, lock: lock, raw: raw, size: size, facts: facts,
                                            participants: participants)
        let uid = try await allocateUIDs(connection, logger: logger, lock: lock, folderID: folderID, count: 1)
        let messageID = ObjectIDGenerator.random()
        try await connection.query(
            """
            INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
            VALUES (\(grant.rawValue)::uuid, \(messageID), \(folderID), \(uid), \(digest), \(threadID), \(flags.names)::text[],
                \(lock.modseq), \(lock.modseq), \(internalDate), \(size), \(facts.messageIDHeader), \(facts.normalizedSubject),
                \(lock.now), \(lock.now))
            """, logger: logger)
        try await adjustQuota(connection, logger: logger, lock: lock, bytes: size, messages: 1)
        try await insertMessageEvents(connection, logger: logger, lock: lock, ids: [messageID], type: "message.created")
        return (messageID, uid, threadID)
    }

    /// Bytes once per grant: the SHA-256 digest names them; identical bytes already stored are reused.
    static func storeContent(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, raw: ByteBuffer, size: Int64,
                             facts: MessageFacts, participants: ParticipantJSON) async throws -> ByteBuffer? {
        let grant = lock.grant
        let digestRows = try await connection.query(
            """
            WITH input AS (SELECT \(raw)::bytea AS raw),
            d AS (SELECT sha256(raw) AS digest, raw FROM input),
            ins AS (
                INSERT INTO message_contents (grant_id, digest, raw, size, message_id_header, in_reply_to, refs, subject,
                    normalized_subject, subject_reply_prefix, from_json, to_json, cc_json, bcc_json, reply_to_json, sent_date,
                    snippet, has_attachments, envelope, body_structure, body, extra, created_at)
                SELECT \(grant.rawValue)::uuid, d.digest, d.raw, \(size), \(facts.messageIDHeader), \(facts.inReplyTo)::text[],
                    \(facts.references)::text[], \(facts.subject), \(facts.normalizedSubject), \(facts.subjectHasReplyPrefix),
                    \(participants.from)::jsonb, \(participants.to)::jsonb, \(participants.cc)::jsonb, \(participants.bcc)::jsonb,
                    \(participants.replyTo)::jsonb, \(facts.sentDate), \(facts.snippet), \(facts.hasAttachments), \(facts.envelope),
                    \(facts.bodyStructure), \(facts.body), \(facts.extraJSON)::jsonb, \(lock.now)
                FROM d
                ON CONFLICT (grant_id, digest) DO NOTHING)
            SELECT digest FROM d
            """, logger: logger)
        var digest: ByteBuffer?
        for try await value in digestRows.decode(ByteBuffer.self) { digest = value }
        return digest
    }

    /// A message joins the thread of a known message it references (In-Reply-To, References, or a
    /// copy with its own Message-ID), else the thread of a known message that references it (the
    /// reply came first), else — when it is a reply — the latest thread with its normalized subject
    /// within `window` seconds of its date; otherwise it starts a thread.
    static func resolveThread(_ connection: PostgresConnection, logger: Logger, grant: GrantID, facts: MessageFacts,
                              internalDate: Int64, window: Int64) async throws -> String {
        let referenced = facts.inReplyTo + facts.references + (facts.messageIDHeader.map { [$0] } ?? [])
        if !referenced.isEmpty {
            let rows = try await connection.query(
                """
                SELECT thread_id FROM messages
                WHERE grant_id = \(grant.rawValue)::uuid AND message_id_header = ANY(\(referenced)::text[])
                ORDER BY internal_date DESC, id LIMIT 1
                """, logger: logger)
            for try await thread in rows.decode(String.self) { return thread }
        }
        if let header = facts.messageIDHeader {
            let rows = try await connection.query(
                """
                SELECT m.thread_id FROM message_contents c
                JOIN messages m ON m.grant_id = c.grant_id AND m.content_digest = c.digest
                WHERE c.grant_id = \(grant.rawValue)::uuid AND c.refs @> ARRAY[\(header)]::text[]
                LIMIT 1
                """, logger: logger)
            for try await thread in rows.decode(String.self) { return thread }
        }
        let isReply = facts.subjectHasReplyPrefix || !facts.inReplyTo.isEmpty || !facts.references.isEmpty
        if isReply, !facts.normalizedSubject.isEmpty {
            let rows = try await connection.query(
                """
                SELECT thread_id FROM messages
                WHERE grant_id = \(grant.rawValue)::uuid AND normalized_subject = \(facts.normalizedSubject)
                  AND internal_date BETWEEN \(internalDate - window) AND \(internalDate + window)
                ORDER BY internal_date DESC, id LIMIT 1
                """, logger: logger)
            for try await thread in rows.decode(String.self) { return thread }
        }
        return ObjectIDGenerator.random()
    }

    // MARK: - SELECT, FETCH, changes

    public func snapshot(grant: GrantID, folderID: String) async throws -> MailboxSnapshot {
        let logger = self.logger
        return try await readSnapshot { connection in
            guard let folder = try await Self.selectFolders(connection, logger: logger, grant: grant, where: .id(folderID)).first else {
                throw MailStoreError.noSuchFolder
            }
            let rows = try await connection.query(
                """
                SELECT uid, id, flags, modseq FROM messages
                WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) ORDER BY uid
                """, logger: logger)
            var messages: [MessageState] = []
            messages.reserveCapacity(folder.totalCount)
            for try await (uid, id, flags, modseq) in rows.decode((Int64, String, [String], Int64).self) {
                messages.append(MessageState(uid: uid, messageID: id, flags: MessageFlags(flags), modseq: modseq))
            }
            return MailboxSnapshot(folder: folder, messages: messages)
        }
    }

    public func fetch(grant: GrantID, folderID: String, uids: UIDSet, includeRaw: Bool) async throws -> [StoredMessage] {
        guard let low = uids.ranges.first?.lowerBound, let high = uids.ranges.last?.upperBound else { return [] }
        let logger = self.logger
        return try await read { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: includeRaw ? Self.messageColumnsWithRaw : Self.messageColumns)
                FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
                WHERE m.grant_id = \(grant.rawValue)::uuid AND m.folder_id = \(folderID) AND m.uid BETWEEN \(low) AND \(high)
                  AND EXISTS (SELECT 1 FROM unnest(\(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[]) AS r(lo, hi)
                              WHERE m.uid BETWEEN r.lo AND r.hi)
                ORDER BY m.uid
                """, logger: logger)
            var messages: [StoredMessage] = []
            for try await row in rows { messages.append(try Self.decodeMessage(row, grant: grant, includeRaw: includeRaw)) }
            return messages
        }
    }

    public func changes(grant: GrantID, folderID: String, since modseq: Int64) async throws -> FolderChanges {
        let logger = self.logger
        return try await readSnapshot { connection in
            let folders = try await connection.query(
                """
                SELECT uid_validity, uid_next, highest_modseq FROM folders
                WHERE grant_id = \(grant.rawValue)::uuid AND id = \(folderID)
                """, logger: logger)
            var state: (Int64, Int64, Int64)?
            for try await row in folders.decode((Int64, Int64, Int64).self) { state = row }
            guard let (validity, next, highest) = state else { throw MailStoreError.noSuchFolder }
            // arrived_modseq <= modseq always, so one range scan on (folder, modseq) finds both kinds.
            let rows = try await connection.query(
                """
                SELECT uid, id, flags, modseq, arrived_modseq FROM messages
                WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND modseq > \(modseq)
                ORDER BY uid
                """, logger: logger)
            var added: [MessageState] = [], changed: [MessageState] = []
            for try await (uid, id, flags, current, arrived) in rows.decode((Int64, String, [String], Int64, Int64).self) {
                let message = MessageState(uid: uid, messageID: id, flags: MessageFlags(flags), modseq: current)
                if arrived > modseq { added.append(message) } else { changed.append(message) }
            }
            let gone = try await connection.query(
                """
                SELECT uid FROM expunged_messages
                WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND modseq > \(modseq) ORDER BY uid
                """, logger: logger)
            var expunged: [Int64] = []
            for try await uid in gone.decode(Int64.self) { expunged.append(uid) }
            return FolderChanges(uidValidity: validity, uidNext: next, highestModseq: highest, added: added, changed: changed,
                                 expunged: expunged)
        }
    }

    // MARK: - STORE

    public func storeFlags(grant: GrantID, folderID: String, uids: UIDSet, operation: FlagOperation,
                           unchangedSince: Int64?) async throws -> FlagStoreResult {
        guard let low = uids.ranges.first?.lowerBound, let high = uids.ranges.last?.upperBound else {
            return FlagStoreResult(changed: [], failedCondition: [])
        }
        var isReplace = false
        var replacement: [String] = [], added: [String] = [], removed: [String] = []
        switch operation {
        case .add(let flags): added = flags.names
        case .remove(let flags): removed = flags.names
        case .replace(let flags):
            isReplace = true
            replacement = flags.names
        }
        let logger = self.logger
        let (isReplaceFlags, replacementFlags, addedFlags, removedFlags) = (isReplace, replacement, added, removed)
        return try await mutate(grant) { connection, lock in
            let (isReplace, replacement, added, removed) = (isReplaceFlags, replacementFlags, addedFlags, removedFlags)
            _ = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID])
            var failed: [Int64] = []
            if let unchangedSince {
                let rows = try await connection.query(
                    """
                    SELECT uid FROM messages
                    WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND uid BETWEEN \(low) AND \(high)
                      AND EXISTS (SELECT 1 FROM unnest(\(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[]) AS r(lo, hi)
                                  WHERE uid BETWEEN r.lo AND r.hi)
                      AND modseq > \(unchangedSince)
                    ORDER BY uid
                    """, logger: logger)
                for try await uid in rows.decode(Int64.self) { failed.append(uid) }
            }
            // One statement for the whole set: new flags = (replacement or old) + added - removed,
            // sorted by bytes; rows whose flags stay the same are not touched and keep their modseq.
            let rows = try await connection.query(
                """
                UPDATE messages AS m SET flags = n.new_flags, modseq = \(lock.modseq), updated_at = \(lock.now)
                FROM (
                    SELECT s.id, ARRAY(
                        SELECT DISTINCT f COLLATE "C"
                        FROM unnest(CASE WHEN \(isReplace) THEN \(replacement)::text[] ELSE s.flags END || \(added)::text[]) AS t(f)
                        WHERE f <> ALL(\(removed)::text[])
                        ORDER BY 1) AS new_flags
                    FROM messages s
                    WHERE s.grant_id = \(grant.rawValue)::uuid AND s.folder_id = \(folderID) AND s.uid BETWEEN \(low) AND \(high)
                      AND EXISTS (SELECT 1 FROM unnest(\(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[]) AS r(lo, hi)
                                  WHERE s.uid BETWEEN r.lo AND r.hi)
                      AND (\(unchangedSince)::bigint IS NULL OR s.modseq <= \(unchangedSince)::bigint)
                ) AS n
                WHERE m.grant_id = \(grant.rawValue)::uuid AND m.id = n.id AND n.new_flags IS DISTINCT FROM m.flags
                RETURNING m.uid, m.id, m.flags, m.modseq
                """, logger: logger)
            var changed: [MessageState] = []
            for try await (uid, id, flags, modseq) in rows.decode((Int64, String, [String], Int64).self) {
                changed.append(MessageState(uid: uid, messageID: id, flags: MessageFlags(flags), modseq: modseq))
            }
            changed.sort { $0.uid < $1.uid }
            guard !changed.isEmpty else { return (FlagStoreResult(changed: [], failedCondition: failed), []) }
            try await Self.touchFolders(connection, logger: logger, lock: lock, ids: [folderID])
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: changed.map(\.messageID), type: "message.updated")
            return (FlagStoreResult(changed: changed, failedCondition: failed), [Announcement(folderID: folderID, modseq: lock.modseq)])
        }
    }

    // MARK: - COPY, MOVE, EXPUNGE

    public func copy(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping {
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            let folders = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID, destinationID])
            let destination = folders[destinationID]!
            let rows = try await Self.selectRows(connection, logger: logger, grant: grant, folderID: folderID, uids: uids, deletedOnly: false)
            guard !rows.isEmpty else { return (UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: []), []) }
            let bytes = rows.reduce(Int64(0)) { $0 + $1.size }
            guard lock.usedBytes + bytes <= lock.limitBytes else { throw MailStoreError.overQuota(limit: lock.limitBytes) }
            let base = try await Self.allocateUIDs(connection, logger: logger, lock: lock, folderID: destinationID, count: rows.count)
            // New ids, same bytes (the content row is shared), same flags and thread (RFC 9051 6.4.7).
            let inserted = try await connection.query(
                """
                INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                    internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
                SELECT m.grant_id, replace(gen_random_uuid()::text, '-', ''), \(destinationID), \(base) + t.n - 1, m.content_digest,
                    m.thread_id, m.flags, \(lock.modseq), \(lock.modseq), m.internal_date, m.size, m.message_id_header,
                    m.normalized_subject, \(lock.now), \(lock.now)
                FROM unnest(\(rows.map(\.id))::text[]) WITH ORDINALITY AS t(id, n)
                JOIN messages m ON m.grant_id = \(grant.rawValue)::uuid AND m.id = t.id
                RETURNING id
                """, logger: logger)
            var newIDs: [String] = []
            for try await id in inserted.decode(String.self) { newIDs.append(id) }
            try await Self.adjustQuota(connection, logger: logger, lock: lock, bytes: bytes, messages: Int64(rows.count))
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: newIDs, type: "message.created")
            let pairs = rows.enumerated().map { (source: $1.uid, destination: base + Int64($0)) }
            return (UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: pairs),
                    [Announcement(folderID: destinationID, modseq: lock.modseq)])
        }
    }

    public func move(grant: GrantID, from folderID: String, uids: UIDSet, to destinationID: String) async throws -> UIDMapping {
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            let folders = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID, destinationID])
            let destination = folders[destinationID]!
            let rows = try await Self.selectRows(connection, logger: logger, grant: grant, folderID: folderID, uids: uids, deletedOnly: false)
            guard !rows.isEmpty else { return (UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: []), []) }
            let mapping = try await Self.moveRows(connection, logger: logger, lock: lock, source: folderID, destination: destination,
                                                  rows: rows, clearDeleted: false)
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: rows.map(\.id), type: "message.updated")
            return (mapping, Self.announce(lock, folderID, destinationID))
        }
    }

    public func expunge(grant: GrantID, folderID: String, uids: UIDSet?) async throws -> ExpungeResult {
        let logger = self.logger
        return try await mutate(grant) { connection, lock in
            let folder = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [folderID])[folderID]!
            let rows = try await Self.selectRows(connection, logger: logger, grant: grant, folderID: folderID, uids: uids ?? .all,
                                                 deletedOnly: true)
            guard !rows.isEmpty else { return (ExpungeResult(expunged: [], movedToTrash: nil), []) }
            if folder.systemRole == SystemFolder.trash.rawValue {
                // Seed: expunging in Trash deletes for good.
                try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: rows.map(\.id), tombstones: true)
                return (ExpungeResult(expunged: rows.map(\.uid), movedToTrash: nil), [Announcement(folderID: folderID, modseq: lock.modseq)])
            }
            // Seed: elsewhere EXPUNGE moves to Trash, arriving without \Deleted.
            let trash = try await Self.trashFolder(connection, logger: logger, grant: grant)
            let mapping = try await Self.moveRows(connection, logger: logger, lock: lock, source: folderID, destination: trash,
                                                  rows: rows, clearDeleted: true)
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: rows.map(\.id), type: "message.updated")
            return (ExpungeResult(expunged: rows.map(\.uid), movedToTrash: mapping), Self.announce(lock, folderID, trash.id))
        }
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

    static func announce(_ lock: GrantLock, _ folderIDs: String...) -> [Announcement] { announce(lock, folderIDs) }

    static func announce(_ lock: GrantLock, _ folderIDs: [String]) -> [Announcement] {
        var seen = Set<String>()
        return folderIDs.filter { seen.insert($0).inserted }.map { Announcement(folderID: $0, modseq: lock.modseq) }
    }

    /// The messages of `uids` in a folder (only `\Deleted` ones when asked), in UID order.
    static func selectRows(_ connection: PostgresConnection, logger: Logger, grant: GrantID, folderID: String, uids: UIDSet,
                           deletedOnly: Bool) async throws -> [MessageRow] {
        guard let low = uids.ranges.first?.lowerBound, let high = uids.ranges.last?.upperBound else { return [] }
        let rows = try await connection.query(
            """
            SELECT id, uid, size FROM messages
            WHERE grant_id = \(grant.rawValue)::uuid AND folder_id = \(folderID) AND uid BETWEEN \(low) AND \(high)
              AND EXISTS (SELECT 1 FROM unnest(\(uids.lowerBounds)::bigint[], \(uids.upperBounds)::bigint[]) AS r(lo, hi)
                          WHERE uid BETWEEN r.lo AND r.hi)
              AND (NOT \(deletedOnly) OR '\\Deleted' = ANY(flags))
            ORDER BY uid
            """, logger: logger)
        var result: [MessageRow] = []
        for try await (id, uid, size) in rows.decode((String, Int64, Int64).self) { result.append(MessageRow(id: id, uid: uid, size: size)) }
        return result
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

    /// Moves rows (UID order) to `destination`, keeping their ids: new UIDs there, tombstones in the source.
    static func moveRows(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, source: String, destination: FolderRow,
                         rows: [MessageRow], clearDeleted: Bool) async throws -> UIDMapping {
        let base = try await allocateUIDs(connection, logger: logger, lock: lock, folderID: destination.id, count: rows.count)
        try await touchFolders(connection, logger: logger, lock: lock, ids: [source])
        try await connection.query(
            """
            INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
            SELECT \(lock.grant.rawValue)::uuid, \(source), t.uid, \(lock.modseq), t.id
            FROM unnest(\(rows.map(\.uid))::bigint[], \(rows.map(\.id))::text[]) AS t(uid, id)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE messages AS m SET folder_id = \(destination.id), uid = \(base) + t.n - 1, modseq = \(lock.modseq),
                arrived_modseq = \(lock.modseq), updated_at = \(lock.now),
                flags = CASE WHEN \(clearDeleted) THEN array_remove(m.flags, '\\Deleted') ELSE m.flags END
            FROM unnest(\(rows.map(\.id))::text[]) WITH ORDINALITY AS t(id, n)
            WHERE m.grant_id = \(lock.grant.rawValue)::uuid AND m.id = t.id
            """, logger: logger)
        let pairs = rows.enumerated().map { (source: $1.uid, destination: base + Int64($0)) }
        return UIDMapping(destinationUIDValidity: destination.uidValidity, pairs: pairs)
    }

    /// Deletes messages for good: `message.deleted` events, tombstones (unless the folder goes
    /// too), quota released, bytes freed when no other message of the grant uses them.
    static func deleteMessagesForGood(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String],
                                      tombstones: Bool) async throws {
        guard !ids.isEmpty else { return }
        let grant = lock.grant.rawValue
        try await connection.query(
            """
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT \(grant)::uuid, 'message', t.id, 'message.deleted',
                jsonb_build_object('object', 'message', 'id', t.id, 'grant_id', \(grant)::text), \(lock.now), \(lock.now)
            FROM unnest(\(ids)::text[]) WITH ORDINALITY AS t(id, n) ORDER BY t.n
            """, logger: logger)
        if tombstones {
            try await connection.query(
                """
                WITH gone AS (
                    INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
                    SELECT grant_id, folder_id, uid, \(lock.modseq), id FROM messages
                    WHERE grant_id = \(grant)::uuid AND id = ANY(\(ids)::text[])
                    RETURNING folder_id)
                UPDATE folders SET highest_modseq = \(lock.modseq)
                WHERE grant_id = \(grant)::uuid AND id IN (SELECT folder_id FROM gone)
                """, logger: logger)
        }
        let deleted = try await connection.query(
            "DELETE FROM messages WHERE grant_id = \(grant)::uuid AND id = ANY(\(ids)::text[]) RETURNING size, content_digest",
            logger: logger)
        var bytes: Int64 = 0, count: Int64 = 0
        var digests: [ByteBuffer] = []
        for try await (size, digest) in deleted.decode((Int64, ByteBuffer).self) {
            bytes += size
            count += 1
            digests.append(digest)
        }
        try await adjustQuota(connection, logger: logger, lock: lock, bytes: -bytes, messages: -count)
        try await connection.query(
            """
            DELETE FROM message_contents c
            WHERE c.grant_id = \(grant)::uuid AND c.digest = ANY(\(digests)::bytea[])
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.grant_id = c.grant_id AND m.content_digest = c.digest)
            """, logger: logger)
    }

    /// The API's message object as the webhook payload, from the row as it is now in this transaction.
    static let messageJSON = """
        jsonb_build_object('object', 'message', 'id', m.id, 'grant_id', m.grant_id::text, 'thread_id', m.thread_id,
            'folders', jsonb_build_array(m.folder_id), 'subject', c.subject, 'from', c.from_json, 'to', c.to_json,
            'cc', c.cc_json, 'bcc', c.bcc_json, 'reply_to', c.reply_to_json, 'date', COALESCE(c.sent_date, m.internal_date),
            'snippet', c.snippet, 'unread', NOT ('\\Seen' = ANY (m.flags)), 'starred', '\\Flagged' = ANY (m.flags),
            'size', m.size, 'created_at', m.created_at, 'has_attachments', c.has_attachments,
            'attachments', COALESCE(c.extra -> 'attachments', '[]'::jsonb))
        """

    static func insertMessageEvents(_ connection: PostgresConnection, logger: Logger, lock: GrantLock, ids: [String], type: String) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT m.grant_id, 'message', m.id, \(type), \(unescaped: messageJSON), \(lock.now), \(lock.now)
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = \(lock.grant.rawValue)::uuid AND m.id = ANY(\(ids)::text[])
            ORDER BY m.folder_id, m.uid
            """, logger: logger)
    }

    // MARK: - Message rows

    static let messageColumns = """
        m.id, m.folder_id, m.uid, m.thread_id, m.flags, m.modseq, m.internal_date, m.size, m.created_at, m.updated_at,
        c.message_id_header, c.in_reply_to, c.refs, c.subject, c.normalized_subject, c.subject_reply_prefix,
        c.from_json::text, c.to_json::text, c.cc_json::text, c.bcc_json::text, c.reply_to_json::text,
        c.sent_date, c.snippet, c.has_attachments, c.envelope, c.body_structure, c.body, c.extra::text
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
        let decoder = JSONDecoder()
        func participants(_ index: Int) throws -> [Participant] {
            try decoder.decode([Participant].self, from: Data(try cells[index].decode(String.self).utf8))
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
            var buffer = try cells[28].decode(ByteBuffer.self)
            raw = buffer.readBytes(length: buffer.readableBytes)
        }
        return StoredMessage(
            id: try cells[0].decode(String.self), grantID: grant, folderID: try cells[1].decode(String.self),
            uid: try cells[2].decode(Int64.self), threadID: try cells[3].decode(String.self),
            flags: MessageFlags(try cells[4].decode([String].self)), modseq: try cells[5].decode(Int64.self),
            internalDate: try cells[6].decode(Int64.self), size: try cells[7].decode(Int64.self), facts: facts, raw: raw,
            createdAt: try cells[8].decode(Int64.self), updatedAt: try cells[9].decode(Int64.self))
    }
}

/// The participant lists as JSON text for the jsonb columns.
struct ParticipantJSON {
    var from, to, cc, bcc, replyTo: String

    init(_ facts: MessageFacts) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json(_ list: [Participant]) throws -> String { String(decoding: try encoder.encode(list), as: UTF8.self) }
        from = try json(facts.from)
        to = try json(facts.to)
        cc = try json(facts.cc)
        bcc = try json(facts.bcc)
        replyTo = try json(facts.replyTo)
    }
}
