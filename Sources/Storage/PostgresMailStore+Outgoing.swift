import Foundation
import Logging
import MailCore
import Metrics
import PostgresNIO

extension PostgresMailStore {
    // MARK: - Sending

    public func submit(grant: GrantID, _ submission: Submission) async throws -> AppendResult {
        let facts = submission.facts.bounded
        let factsJSON = FactsJSON(facts, participants: try ParticipantJSON(facts), flags: MessageFlags([MessageFlags.seen]),
                                  internalDate: submission.internalDate)
        let sentCopy = ByteBuffer(bytes: submission.sentCopy), transmit = ByteBuffer(bytes: submission.transmit)
        // One job per recipient domain, recipients in the order given, each once.
        var domains: [String] = [], recipientsByDomain: [String: [String]] = [:]
        for recipient in submission.recipients where !(recipientsByDomain[recipient.domain] ?? []).contains(recipient.address) {
            if recipientsByDomain[recipient.domain] == nil { domains.append(recipient.domain) }
            recipientsByDomain[recipient.domain, default: []].append(recipient.address)
        }
        let jobRecipients = domains.map { recipientsByDomain[$0]!.joined(separator: "\n") }
        let now = WallClock.unixMilliseconds()
        let reservation = outboundHandoff?.reserve(bytes: submission.transmit.count, now: now)
        let query = Self.submitQuery(grant: grant, now: now / 1000, defaultQuota: defaultQuotaBytes,
                                     window: threadSubjectWindowSeconds, sentCopy: sentCopy, facts: factsJSON.text, transmit: transmit,
                                     mailFrom: submission.mailFrom, domains: domains, recipients: jobRecipients,
                                     draftID: submission.replacingDraftID, lease: reservation.map { ($0.token, $0.leaseEnd) },
                                     credentialsVersion: submission.credentialsVersion, rulesVersion: submission.rulesVersion)
        let result: AppendResult, draftDeleted: Bool, jobIDs: [Int64]
        do {
            (result, draftDeleted, jobIDs) = try await call(SubmitStatement.self, query) { rows in
                for try await (id, uid, validity, modseq, thread, draftDeleted, jobs)
                    in rows.decode((String, Int64, Int64, Int64, String, Bool, [Int64]).self) {
                    return (AppendResult(messageID: id, uid: uid, uidValidity: validity, modseq: modseq, threadID: thread, deduplicated: false),
                            draftDeleted, jobs)
                }
                throw MailStoreError.noSuchGrant
            }
        } catch {
            if let reservation { outboundHandoff?.release(reservation) }
            throw error
        }
        if outboundHandoff != nil {
            Counter(label: "mailnode_outbound_submissions_total", dimensions: [("path", reservation == nil ? "queued" : "handed_over")])
                .increment()
        }
        if let reservation, let outboundHandoff {
            let jobs = zip(jobIDs, domains).map { id, domain in
                OutboundJob(id: id, grantID: grant, sentMessageID: result.messageID, mailFrom: submission.mailFrom, domain: domain,
                            recipients: recipientsByDomain[domain]!, attempts: 0, createdAt: now / 1000, raw: submission.transmit)
            }
            outboundHandoff.start(jobs, reservation)
        }
        await announce(grant, Self.announce(result.modseq, (draftDeleted ? [SystemFolder.drafts.apiID] : []) + [SystemFolder.sent.apiID]))
        if reservation == nil { await notifier.outboundQueued() }
        return result
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
            let factsJSON = FactsJSON(facts, participants: participants, flags: current.flags, internalDate: internalDate)
            var digest: ByteBuffer?
            let stored = try await connection.query(
                "SELECT mail_store_content(\(grant.rawValue)::uuid, \(rawBuffer), \(factsJSON.text)::jsonb, \(lock.now))",
                logger: logger)
            for try await value in stored.decode(ByteBuffer.self) { digest = value }
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
