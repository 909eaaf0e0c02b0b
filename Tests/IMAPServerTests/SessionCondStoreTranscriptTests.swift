@testable import IMAPServer
import MailCore
import Storage
import TestSupport
import Testing

/// CONDSTORE and QRESYNC (RFC 7162), client lines in and server lines out, with the modseqs read
/// from the store so that every line is exact.
@Suite struct SessionCondStoreTranscriptTests {
    static func message(_ id: String) -> String {
        SessionConformanceTranscriptTests.message(id)
    }

    /// Each message of INBOX by UID: its modseq as stored.
    static func modseqs(_ nodes: IMAPTestNodes, _ account: IMAPTestNodes.Account) async throws -> [Int: Int64] {
        let messages = try await nodes.contexts[0].store.fetch(grant: account.grant.id, folderID: "inbox", uids: .all, includeRaw: false)
        return Dictionary(uniqueKeysWithValues: messages.map { (Int($0.uid), $0.modseq) })
    }

    static func highest(_ nodes: IMAPTestNodes, _ account: IMAPTestNodes.Account) async throws -> Int64 {
        try #require(try await nodes.contexts[0].store.folder(grant: account.grant.id, id: "inbox")).highestModseq
    }

    static func uidValidity(_ nodes: IMAPTestNodes, _ account: IMAPTestNodes.Account) async throws -> Int64 {
        try #require(try await nodes.contexts[0].store.folder(grant: account.grant.id, id: "inbox")).uidValidity
    }

    /// `command` (a SELECT or EXAMINE of INBOX, which holds `exists` messages, the first unseen and
    /// none recent here) and its answer, the QRESYNC lines `resync` before the tagged OK.
    static func opening(_ command: String, exists: Int, validity: Int64, uidNext: Int, highest: Int64, readOnly: Bool = false,
                        closing: Bool = false, resync: [String] = []) -> String {
        let tag = command.prefix { $0 != " " }
        let lines = [
            "C: \(command)",
            closing ? "S: * OK [CLOSED] Previous mailbox closed" : nil,
            "S: * FLAGS (…)",
            readOnly ? "S: * OK [PERMANENTFLAGS ()] …" : "S: * OK [PERMANENTFLAGS (…)] …",
            "S: * \(exists) EXISTS",
            "S: * 0 RECENT",
            "S: * OK [UIDVALIDITY \(validity)] UIDs valid",
            "S: * OK [UIDNEXT \(uidNext)] Predicted next UID",
            "S: * OK [HIGHESTMODSEQ \(highest)] Highest",
            "S: * OK [MAILBOXID (…)] Mailbox id",
            "S: * OK [UNSEEN 1] First unseen",
        ].compactMap { $0 } + resync.map { "S: \($0)" } + [
            readOnly ? "S: \(tag) OK [READ-ONLY] EXAMINE completed" : "S: \(tag) OK [READ-WRITE] SELECT completed",
        ]
        return lines.joined(separator: "\n")
    }

    // MARK: CONDSTORE (RFC 7162 3.1)

    @Test func modseqsInFetchStoreAndSearch() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["m1", "m2", "m3"] { try await client.append(Self.message(id), flags: "\\Seen") }
            let start = try await Self.highest(nodes, account)
            try await client.run("""
                C: s SELECT INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 3 EXISTS
                S: * 3 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 4] Predicted next UID
                S: * OK [HIGHESTMODSEQ \(start)] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: s OK [READ-WRITE] SELECT completed
                C: p STORE 1 +FLAGS (\\Flagged)
                S: * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
                S: p OK STORE completed
                """)
            var modseq = try await Self.modseqs(nodes, account)
            // The first command that uses a modseq turns CONDSTORE on and is told the mailbox's highest.
            try await client.run("""
                C: f FETCH 1:3 (FLAGS) (CHANGEDSINCE \(modseq[2]!))
                S: * OK [HIGHESTMODSEQ \(modseq[1]!)] Highest
                S: * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent) MODSEQ (\(modseq[1]!)))
                S: * 3 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (\(modseq[3]!)))
                S: f OK FETCH completed
                C: a STORE 2 +FLAGS (\\Answered)
                S: * 2 FETCH (UID 2 FLAGS (\\Answered \\Seen \\Recent) MODSEQ (\(modseq[1]! + 1)))
                S: a OK STORE completed
                C: b STORE 3 +FLAGS.SILENT (\\Deleted)
                S: * 3 FETCH (UID 3 MODSEQ (\(modseq[1]! + 2)))
                S: b OK STORE completed
                """)
            modseq = try await Self.modseqs(nodes, account)
            try await client.run("""
                C: q SEARCH MODSEQ \(modseq[2]!)
                S: * SEARCH 2 3 (MODSEQ \(modseq[3]!))
                S: q OK SEARCH completed
                C: r SEARCH MODSEQ \(modseq[3]! + 1)
                S: * SEARCH
                S: r OK SEARCH completed
                C: t UID SEARCH RETURN (MIN) MODSEQ "/flags/\\\\draft" all 1
                S: * ESEARCH (TAG "t") UID MIN 1 MODSEQ \(modseq[1]!)
                S: t OK UID SEARCH completed
                C: u SEARCH RETURN (COUNT) MODSEQ 1
                S: * ESEARCH (TAG "u") COUNT 3 MODSEQ \(modseq[3]!)
                S: u OK SEARCH completed
                """)
            await client.close()
        }
    }

    @Test func aConditionalStoreLeavesWhatChangedMeanwhileAndSaysWhich() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["c1", "c2", "c3"] { try await client.append(Self.message(id)) }
            try await client.run(selectInbox(exists: 3, recent: 3))
            let known = try await Self.highest(nodes, account)
            // Another session on another node flags message 2 after the client read the modseqs.
            let other = try await nodes.login(account, node: 1)
            try await other.run(selectInbox(exists: 3, recent: 0, tag: "o"))
            try await other.run("""
                C: x STORE 2 +FLAGS.SILENT (\\Flagged)
                S: x OK STORE completed
                """)
            var modseq = try await Self.modseqs(nodes, account)
            // The client hears of the other session's change (NOOP reads the change log, whatever
            // the announcement's timing), then CONDSTORE turns on; message 2 fails the test all the same.
            try await client.run("""
                C: n NOOP
                S: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))
                S: n OK NOOP completed
                C: c STORE 1:3 (UNCHANGEDSINCE \(known)) +FLAGS.SILENT (\\Seen)
                S: * OK [HIGHESTMODSEQ \(modseq[2]!)] Highest
                S: * 1 FETCH (UID 1 MODSEQ (\(modseq[2]! + 1)))
                S: * 3 FETCH (UID 3 MODSEQ (\(modseq[2]! + 1)))
                S: c OK [MODIFIED 2] Conditional STORE failed
                """)
            modseq = try await Self.modseqs(nodes, account)
            // A message that passes the test but already has the flag is still told, with its modseq.
            // UNCHANGEDSINCE 0 fails every message.
            try await client.run("""
                C: d UID STORE 1:2 (UNCHANGEDSINCE \(modseq[1]!)) +FLAGS (\\Seen)
                S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (\(modseq[1]!)))
                S: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen \\Recent) MODSEQ (\(modseq[1]! + 1)))
                S: d OK UID STORE completed
                C: e STORE 3 (UNCHANGEDSINCE 0) -FLAGS (\\Seen)
                S: e OK [MODIFIED 3] Conditional STORE failed
                C: m NOOP
                S: m OK NOOP completed
                """)
            for session in [client, other] { await session.close() }
        }
    }

    @Test func enableListsOnlyWhatItTurnedOn() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.run("""
                C: a ENABLE CONDSTORE X-UNKNOWN
                S: * ENABLED CONDSTORE
                S: a OK ENABLE completed
                C: b ENABLE CONDSTORE QRESYNC
                S: * ENABLED QRESYNC
                S: b OK ENABLE completed
                C: c ENABLE QRESYNC
                S: * ENABLED
                S: c OK ENABLE completed
                """)
            // Named together on a fresh connection, both are listed (RFC 5161 3.2), in the order asked.
            let other = try await nodes.login(account)
            try await other.run("""
                C: a ENABLE QRESYNC x-none CONDSTORE
                S: * ENABLED QRESYNC CONDSTORE
                S: a OK ENABLE completed
                """)
            await other.close()
            try await client.run("""
                C: d STATUS INBOX (HIGHESTMODSEQ)
                S: * STATUS INBOX (HIGHESTMODSEQ \(try await Self.highest(nodes, account)))
                S: d OK STATUS completed
                """)
            await client.close()
        }
    }

    // MARK: QRESYNC (RFC 7162 3.2)

    @Test func selectWithQresyncTellsWhatVanishedAndWhatChanged() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account)
            for id in ["q1", "q2", "q3", "q4", "q5"] { try await writer.append(Self.message(id)) }
            try await writer.run(selectInbox(exists: 5, recent: 5))
            let known = try await Self.highest(nodes, account)
            let validity = try await Self.uidValidity(nodes, account)
            try await writer.run("""
                C: a STORE 2 +FLAGS.SILENT (\\Seen)
                S: a OK STORE completed
                C: b STORE 4 +FLAGS.SILENT (\\Deleted)
                S: b OK STORE completed
                C: c EXPUNGE
                S: * 4 EXPUNGE
                S: * 4 RECENT
                S: c OK EXPUNGE completed
                """)
            let modseq = try await Self.modseqs(nodes, account)
            let now = try await Self.highest(nodes, account)
            let reader = try await nodes.login(account)
            try await reader.run("""
                C: x SELECT INBOX (QRESYNC (\(validity) \(known)))
                S: x BAD QRESYNC must be enabled first (ENABLE QRESYNC)
                C: e ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: e OK ENABLE completed
                """)
            let changed = "* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (\(modseq[2]!)))"
            try await reader.run(Self.opening("s SELECT INBOX (QRESYNC (\(validity) \(known)))", exists: 4, validity: validity,
                                              uidNext: 6, highest: now, resync: ["* VANISHED (EARLIER) 4", changed]))
            // Known UIDs restrict the answer; an old UIDVALIDITY gets a plain EXAMINE.
            try await reader.run(Self.opening("k EXAMINE INBOX (QRESYNC (\(validity) \(known) 1:3))", exists: 4, validity: validity,
                                              uidNext: 6, highest: now, readOnly: true, closing: true, resync: [changed]))
            try await reader.run(Self.opening("v EXAMINE INBOX (QRESYNC (\(validity + 1) \(known)))", exists: 4, validity: validity,
                                              uidNext: 6, highest: now, readOnly: true, closing: true))
            try await reader.run("""
                C: f UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(known) VANISHED)
                S: * VANISHED (EARLIER) 4
                S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (\(modseq[2]!)))
                S: f OK UID FETCH completed
                C: g FETCH 1:* (FLAGS) (CHANGEDSINCE \(known) VANISHED)
                S: g BAD VANISHED is a modifier of UID FETCH only
                C: h UID FETCH 1:* (FLAGS) (VANISHED)
                S: h BAD VANISHED needs CHANGEDSINCE
                """)
            for client in [writer, reader] { await client.close() }
        }
    }

    @Test func onceQresyncIsEnabledExpungesAreToldAsVanished() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["v1", "v2", "v3", "v4"] { try await client.append(Self.message(id)) }
            try await client.run("""
                C: e ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: e OK ENABLE completed
                """)
            try await client.run(selectInbox(exists: 4, recent: 4))
            let other = try await nodes.login(account, node: 1)
            try await other.run(selectInbox(exists: 4, recent: 0, tag: "o"))
            try await other.run("""
                C: x STORE 1,2 +FLAGS.SILENT (\\Deleted)
                S: x OK STORE completed
                C: y EXPUNGE
                S: * 2 EXPUNGE
                S: * 1 EXPUNGE
                S: y OK EXPUNGE completed
                """)
            try await client.run("""
                C: n NOOP
                S: * VANISHED 1:2
                S: * 2 RECENT
                S: n OK NOOP completed
                C: s UID STORE 4 +FLAGS.SILENT (\\Deleted)
                S: * 2 FETCH (UID 4 MODSEQ (…))
                S: s OK UID STORE completed
                """)
            let deleted = try await Self.modseqs(nodes, account)[4]!
            try await client.run("""
                C: w UID FETCH 4 (MODSEQ)
                S: * 2 FETCH (UID 4 MODSEQ (\(deleted)))
                S: w OK UID FETCH completed
                C: u UID EXPUNGE 4
                S: * VANISHED 4
                S: * 1 RECENT
                S: u OK [HIGHESTMODSEQ \(deleted + 1)] UID EXPUNGE completed
                """)
            for session in [client, other] { await session.close() }
        }
    }

    /// Expunges older than the window are forgotten: a client that asks about changes from before
    /// then is told of every UID it may know that is gone, as RFC 7162 3.2.5.2 allows.
    @Test func forgottenExpungesAreToldAsEveryAbsentUID() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["f1", "f2", "f3", "f4", "f5"] { try await client.append(Self.message(id)) }
            try await client.run(selectInbox(exists: 5, recent: 5))
            let validity = try await Self.uidValidity(nodes, account)
            try await client.run("""
                C: a STORE 2 +FLAGS.SILENT (\\Deleted)
                S: a OK STORE completed
                C: b EXPUNGE
                S: * 2 EXPUNGE
                S: * 4 RECENT
                S: b OK EXPUNGE completed
                """)
            let between = try await Self.highest(nodes, account)
            try await client.run("""
                C: c UID STORE 3 +FLAGS.SILENT (\\Deleted)
                S: c OK UID STORE completed
                C: d EXPUNGE
                S: * 2 EXPUNGE
                S: * 3 RECENT
                S: d OK EXPUNGE completed
                """)
            let now = try await Self.highest(nodes, account)
            let store = try #require(nodes.contexts[0].store as? PostgresMailStore)
            // Exact while the expunges are remembered: only UID 3 went after `between`.
            let reader = try await nodes.login(account)
            let select = { (since: Int64, vanished: String) in
                Self.opening("s SELECT INBOX (QRESYNC (\(validity) \(since) 1:9))", exists: 3, validity: validity, uidNext: 6,
                             highest: now, resync: ["* VANISHED (EARLIER) \(vanished)"])
            }
            try await reader.run("""
                C: e ENABLE QRESYNC
                S: * ENABLED QRESYNC
                S: e OK ENABLE completed
                """)
            try await reader.run(select(between, "3"))
            // Both expunges fall out of the window.
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                try await client.query("UPDATE expunged_messages SET expunged_at = 1000 WHERE grant_id = \(account.grant.id.rawValue)::uuid")
            }
            let pruner = ExpungeTombstonePruner(store: store, windowSeconds: 3600, logger: TestEnvironment.logger)
            // Another test's prune may take these rows first; pruners wait for each other.
            _ = try await pruner.pruneAll(now: WallClock.unixSeconds())
            try await reader.run("C: u UNSELECT\nS: u OK UNSELECT completed")
            try await reader.run(select(between, "2:3"))
            // A modseq from after the last forgotten expunge is answered exactly again: nothing vanished.
            try await reader.run("""
                C: t UID FETCH 1:* (FLAGS) (CHANGEDSINCE \(now) VANISHED)
                S: t OK UID FETCH completed
                """)
            for session in [client, reader] { await session.close() }
        }
    }

    /// A session that has not heard of an expunge by the time it is forgotten still hears of it:
    /// the mailbox's UIDs tell which of its messages are gone.
    @Test func aSessionBehindTheWindowStillHearsOfItsExpunges() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let watcher = try await nodes.login(account)
            for id in ["w1", "w2", "w3"] { try await watcher.append(Self.message(id)) }
            try await watcher.run(selectInbox(exists: 3, recent: 3))
            let writer = try await nodes.login(account)
            try await writer.run(selectInbox(exists: 3, recent: 0))
            try await writer.run("""
                C: a UID STORE 2 +FLAGS.SILENT (\\Deleted)
                S: a OK UID STORE completed
                C: b UID EXPUNGE 2
                S: * 2 EXPUNGE
                S: b OK UID EXPUNGE completed
                """)
            try await TestEnvironment.withPostgres(url: try TestEnvironment.postgresURL()) { client in
                try await client.query("UPDATE expunged_messages SET expunged_at = 1000 WHERE grant_id = \(account.grant.id.rawValue)::uuid")
            }
            let store = try #require(nodes.contexts[0].store as? PostgresMailStore)
            _ = try await ExpungeTombstonePruner(store: store, windowSeconds: 3600, logger: TestEnvironment.logger)
                .pruneAll(now: WallClock.unixSeconds())
            #expect(try await store.changes(grant: account.grant.id, folderID: "inbox", since: 0).expunged.isEmpty)
            try await watcher.run("""
                C: n NOOP
                S: * 2 EXPUNGE
                S: * 2 RECENT
                S: n OK NOOP completed
                C: f FETCH 1:* (UID)
                S: * 1 FETCH (UID 1)
                S: * 2 FETCH (UID 3)
                S: f OK FETCH completed
                """)
            for session in [watcher, writer] { await session.close() }
        }
    }

    /// STATUS HIGHESTMODSEQ of the selected mailbox says what the session has told, not a change it
    /// has not reported yet (RFC 7162 3.2): the client would otherwise skip that change.
    @Test func statusOfTheSelectedMailboxDoesNotRunAheadOfTheSession() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["h1", "h2"] { try await client.append(Self.message(id)) }
            try await client.run(selectInbox(exists: 2, recent: 2))
            let known = try await Self.highest(nodes, account)
            let other = try await nodes.login(account, node: 1)
            try await other.run(selectInbox(exists: 2, recent: 0, tag: "o"))
            try await other.run("""
                C: x STORE 1 +FLAGS.SILENT (\\Flagged)
                S: x OK STORE completed
                """)
            try await client.send("t STATUS INBOX (HIGHESTMODSEQ)")
            var lines = try await client.readUntilTagged("t")
            #expect(lines.contains("* STATUS INBOX (HIGHESTMODSEQ \(known))"), "\(lines)")
            // The change itself is told at the latest by the next NOOP, with its modseq.
            try await client.send("n NOOP")
            lines += try await client.readUntilTagged("n")
            let changed = try await Self.modseqs(nodes, account)[1]!
            #expect(changed > known)
            #expect(lines.contains("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) MODSEQ (\(changed)))"), "\(lines)")
            for session in [client, other] { await session.close() }
        }
    }
}
