import Foundation
import Logging
import MailCore
import PostgresNIO

extension PostgresMailStore {
    // MARK: - Sending

    public func submit(grant: GrantID, _ submission: Submission) async throws -> AppendResult {
        let facts = submission.facts.bounded
        let logger = self.logger, window = threadSubjectWindowSeconds
        let participants = try ParticipantJSON(facts)
        let sentCopy = ByteBuffer(bytes: submission.sentCopy), transmit = ByteBuffer(bytes: submission.transmit)
        let size = Int64(submission.sentCopy.count)
        // One job per recipient domain, recipients in the order given, each once.
        var domains: [String] = [], recipientsByDomain: [String: [String]] = [:]
        for recipient in submission.recipients where !(recipientsByDomain[recipient.domain] ?? []).contains(recipient.address) {
            if recipientsByDomain[recipient.domain] == nil { domains.append(recipient.domain) }
            recipientsByDomain[recipient.domain, default: []].append(recipient.address)
        }
        let jobRecipients = domains.map { recipientsByDomain[$0]!.joined(separator: "\n") }
        let jobDomains = domains
        return try await mutate(grant) { connection, lock in
            var announcements: [Announcement] = []
            var freed: Int64 = 0
            if let draftID = submission.replacingDraftID {
                let rows = try await connection.query(
                    """
                    SELECT size FROM messages
                    WHERE grant_id = \(grant.rawValue)::uuid AND id = \(draftID) AND folder_id = \(SystemFolder.drafts.apiID)
                    """, logger: logger)
                var found = false
                for try await draftSize in rows.decode(Int64.self) {
                    found = true
                    freed = draftSize
                }
                guard found else { throw MailStoreError.noSuchMessage }
                try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: [draftID], tombstones: true)
                announcements.append(Announcement(folderID: SystemFolder.drafts.apiID, modseq: lock.modseq))
            }
            guard lock.usedBytes - freed + size <= lock.limitBytes else { throw MailStoreError.overQuota(limit: lock.limitBytes) }
            let sent = try await Self.requireFolders(connection, logger: logger, grant: grant, ids: [SystemFolder.sent.apiID])[SystemFolder.sent.apiID]!
            let (messageID, uid, threadID) = try await Self.insertMessage(
                connection, logger: logger, lock: lock, folderID: sent.id, raw: sentCopy, size: size, facts: facts,
                participants: participants, flags: MessageFlags([MessageFlags.seen]), internalDate: submission.internalDate,
                window: window)
            try await connection.query(
                """
                WITH queued AS (
                    INSERT INTO outbound_messages (grant_id, sent_message_id, mail_from, raw, created_at)
                    VALUES (\(grant.rawValue)::uuid, \(messageID), \(submission.mailFrom), \(transmit), \(lock.now))
                    RETURNING id)
                INSERT INTO outbound_jobs (outbound_message_id, grant_id, domain, recipients, next_attempt_at, created_at, updated_at)
                SELECT queued.id, \(grant.rawValue)::uuid, t.domain, string_to_array(t.recipients, E'\\n'), \(lock.now), \(lock.now), \(lock.now)
                FROM queued, unnest(\(jobDomains)::text[], \(jobRecipients)::text[]) AS t(domain, recipients)
                """, logger: logger)
            announcements.append(Announcement(folderID: sent.id, modseq: lock.modseq))
            let result = AppendResult(messageID: messageID, uid: uid, uidValidity: sent.uidValidity, modseq: lock.modseq,
                                      threadID: threadID, deduplicated: false)
            return (result, announcements)
        }
    }

    public func destroyMessage(grant: GrantID, id: String) async throws {
        let logger = self.logger
        try await mutate(grant) { connection, lock in
            let rows = try await connection.query(
                "SELECT folder_id FROM messages WHERE grant_id = \(grant.rawValue)::uuid AND id = \(id)", logger: logger)
            var folderID: String?
            for try await value in rows.decode(String.self) { folderID = value }
            guard let folderID else { throw MailStoreError.noSuchMessage }
            try await Self.deleteMessagesForGood(connection, logger: logger, lock: lock, ids: [id], tombstones: true)
            return ((), [Announcement(folderID: folderID, modseq: lock.modseq)])
        }
    }

    // MARK: - Replacing

    public func replaceMessage(grant: GrantID, id: String, raw: [UInt8], facts: MessageFacts, internalDate: Int64) async throws -> StoredMessage {
        let facts = facts.bounded
        let logger = self.logger
        let participants = try ParticipantJSON(facts)
        let rawBuffer = ByteBuffer(bytes: raw)
        let size = Int64(raw.count)
        return try await mutate(grant) { connection, lock in
            guard let current = try await Self.selectMessage(connection, logger: logger, grant: grant, id: id, includeRaw: false) else {
                throw MailStoreError.noSuchMessage
            }
            guard lock.usedBytes - current.size + size <= lock.limitBytes else { throw MailStoreError.overQuota(limit: lock.limitBytes) }
            let digest = try await Self.storeContent(connection, logger: logger, lock: lock, raw: rawBuffer, size: size, facts: facts,
                                                     participants: participants)
            // The old UID leaves the folder as IMAP sees it; the message comes back under a new one.
            try await connection.query(
                """
                INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
                VALUES (\(grant.rawValue)::uuid, \(current.folderID), \(current.uid), \(lock.modseq), \(id))
                """, logger: logger)
            let uid = try await Self.allocateUIDs(connection, logger: logger, lock: lock, folderID: current.folderID, count: 1)
            let oldDigest = try await connection.query(
                """
                WITH old AS (SELECT content_digest FROM messages WHERE grant_id = \(grant.rawValue)::uuid AND id = \(id)),
                updated AS (
                    UPDATE messages SET uid = \(uid), content_digest = \(digest), size = \(size), modseq = \(lock.modseq),
                        arrived_modseq = \(lock.modseq), internal_date = \(internalDate), message_id_header = \(facts.messageIDHeader),
                        normalized_subject = \(facts.normalizedSubject), updated_at = \(lock.now)
                    WHERE grant_id = \(grant.rawValue)::uuid AND id = \(id))
                SELECT content_digest FROM old
                """, logger: logger)
            var digests: [ByteBuffer] = []
            for try await value in oldDigest.decode(ByteBuffer.self) { digests.append(value) }
            try await connection.query(
                """
                DELETE FROM message_contents c
                WHERE c.grant_id = \(grant.rawValue)::uuid AND c.digest = ANY(\(digests)::bytea[])
                  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.grant_id = c.grant_id AND m.content_digest = c.digest)
                """, logger: logger)
            try await Self.touchFolders(connection, logger: logger, lock: lock, ids: [current.folderID])
            try await Self.adjustQuota(connection, logger: logger, lock: lock, bytes: size - current.size, messages: 0)
            try await Self.insertMessageEvents(connection, logger: logger, lock: lock, ids: [id], type: "message.updated")
            guard let updated = try await Self.selectMessage(connection, logger: logger, grant: grant, id: id, includeRaw: false) else {
                throw MailStoreError.noSuchMessage
            }
            return (updated, [Announcement(folderID: current.folderID, modseq: lock.modseq)])
        }
    }
}
