@testable import IMAPServer
import Testing

/// NOTIFY (RFC 5465) across nodes: what another node changes is told between commands, for the
/// selected mailbox as SELECTED asked, and for other mailboxes as STATUS and LIST.
@Suite struct SessionNotifyTranscriptTests {
    static func message(_ id: String) -> String { SessionConformanceTranscriptTests.message(id) }

    @Test func changesElsewhereAreToldBetweenCommands() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            try await writer.append(Self.message("n0"), to: "Archive")
            let watcher = try await nodes.login(account, node: 0)
            try await watcher.run(selectInbox(exists: 0, recent: 0, unseen: false) + """
                C: n NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName))
                S: * STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY … UNSEEN 0)
                S: * STATUS Drafts (MESSAGES 0 UIDNEXT 1 UIDVALIDITY … UNSEEN 0)
                S: * STATUS Trash (MESSAGES 0 UIDNEXT 1 UIDVALIDITY … UNSEEN 0)
                S: * STATUS Junk (MESSAGES 0 UIDNEXT 1 UIDVALIDITY … UNSEEN 0)
                S: * STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY … UNSEEN 1)
                S: n OK NOTIFY completed
                """)
            // New mail in the selected mailbox: EXISTS, then the FETCH items MessageNew named.
            try await writer.append(Self.message("n1"))
            try await watcher.run("""
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * 1 FETCH (UID 1 FLAGS (\\Recent))
                """)
            // A flag changed elsewhere, and new mail in another mailbox.
            try await writer.run(selectInbox(exists: 1, recent: 0) + """
                C: f UID STORE 1 +FLAGS (\\Flagged)
                S: * 1 FETCH (UID 1 FLAGS (\\Flagged))
                S: f OK UID STORE completed
                """)
            try await watcher.run("S: * 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))")
            try await writer.append(Self.message("n2"), to: "Archive")
            try await watcher.run("S: * STATUS Archive (MESSAGES 2 UIDNEXT 3 UNSEEN 2)")
            // Names: a mailbox made, renamed and deleted on the other node.
            try await writer.run("""
                C: c CREATE Plans
                S: c OK [MAILBOXID (…)] CREATE completed
                """)
            try await watcher.run("S: * LIST () \"/\" Plans")
            try await writer.run("""
                C: r RENAME Plans Ideas
                S: r OK RENAME completed
                """)
            try await watcher.run("S: * LIST () \"/\" Ideas (\"OLDNAME\" (Plans))")
            try await writer.run("""
                C: d DELETE Ideas
                S: d OK DELETE completed
                """)
            try await watcher.run("S: * LIST (\\NonExistent) \"/\" Ideas")
            // An expunge elsewhere is told at once under SELECTED.
            try await writer.run("""
                C: x UID STORE 1 +FLAGS.SILENT (\\Deleted)
                S: x OK UID STORE completed
                """)
            try await watcher.run("S: * 1 FETCH (UID 1 FLAGS (\\Deleted \\Flagged \\Recent))")
            try await writer.run("""
                C: y EXPUNGE
                S: * 1 EXPUNGE
                S: y OK EXPUNGE completed
                """)
            // EXPUNGE outside Trash moves the message there: Trash is watched too.
            try await watcher.run("""
                S: * 1 EXPUNGE
                S: * 0 RECENT
                S: * STATUS Trash (MESSAGES 1 UIDNEXT 2 UNSEEN 1)
                """)
            // The session's own CREATE is not told back to it; a bad NOTIFY keeps the one in force.
            try await watcher.run("""
                C: o CREATE Own
                S: o OK [MAILBOXID (…)] CREATE completed
                C: b NOTIFY SET (personal (MessageNew))
                S: b BAD MessageNew and MessageExpunge go together
                C: u NOTIFY SET (personal (SubscriptionChange))
                S: u NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName)] Unsupported event
                C: z NOTIFY NONE
                S: z OK NOTIFY completed
                """)
            // After NOTIFY NONE nothing is told of the selected mailbox, not even after a command.
            try await writer.append(Self.message("n3"))
            try await watcher.run("""
                C: p NOOP
                S: p OK NOOP completed
                """)
            await writer.close()
            await watcher.close()
        }
    }

    /// FETCH by number may not tell expunges (RFC 9051 7.4.1); CHECK reads the change log whatever
    /// the announcements, so the test waits on no timing.
    @Test func selectedDelayedHoldsExpungesUntilACommandMayTellThem() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            try await writer.append(Self.message("d1"))
            try await writer.append(Self.message("d2"))
            let watcher = try await nodes.login(account, node: 0)
            try await watcher.run(selectInbox(exists: 2, recent: 2) + """
                C: n NOTIFY SET (selected-delayed (MessageNew MessageExpunge))
                S: n OK NOTIFY completed
                """)
            try await writer.run(selectInbox(exists: 2, recent: 0) + """
                C: x UID STORE 1 +FLAGS.SILENT (\\Deleted)
                S: x OK UID STORE completed
                C: y EXPUNGE
                S: * 1 EXPUNGE
                S: y OK EXPUNGE completed
                """)
            try await writer.append(Self.message("d3"))
            try await watcher.run("""
                C: f FETCH 1:* (UID)
                S: * 1 FETCH (UID 1)
                S: * 2 FETCH (UID 2)
                S: f OK FETCH completed
                C: p CHECK
                S: * 1 EXPUNGE
                S: * 2 EXISTS
                S: * 1 RECENT
                S: p OK CHECK completed
                """)
            await writer.close()
            await watcher.close()
        }
    }

    /// Without SELECTED the selected mailbox's changes are not told, but a command still answers
    /// for what it did itself (EXPUNGE's own EXPUNGE responses).
    @Test func aCommandStillReportsWhatItDidItself() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account, node: 0)
            try await client.append(Self.message("e1"))
            try await client.append(Self.message("e2"))
            try await client.run(selectInbox(exists: 2, recent: 2) + """
                C: n NOTIFY SET (mailboxes Archive (MessageNew MessageExpunge))
                S: n OK NOTIFY completed
                """)
            // Another node's new mail in Archive moves the grant's modseq on.
            let other = try await nodes.login(account, node: 1)
            try await other.append(Self.message("e3"), to: "Archive")
            try await client.run("""
                S: * STATUS Archive (MESSAGES 1 UIDNEXT 2 UNSEEN 1)
                C: s STORE 1 +FLAGS.SILENT (\\Deleted)
                S: s OK STORE completed
                C: x EXPUNGE
                S: * 1 EXPUNGE
                S: * 1 RECENT
                S: x OK EXPUNGE completed
                C: f FETCH 1 (UID)
                S: * 1 FETCH (UID 2)
                S: f OK FETCH completed
                """)
            await client.close()
            await other.close()
        }
    }

    /// MessageNew's FETCH items follow new mail however it is told: here by CHECK, whether or not a
    /// push came first (both give the same lines in the same order).
    @Test func messageNewItemsFollowNewMailToldByACommand() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account, node: 0)
            try await client.run(selectInbox(exists: 0, recent: 0, unseen: false) + """
                C: n NOTIFY SET (selected-delayed (MessageNew (UID BODY[HEADER.FIELDS (SUBJECT)]) MessageExpunge))
                S: n OK NOTIFY completed
                """)
            let other = try await nodes.login(account, node: 1)
            try await other.append(Self.message("m1"))
            try await client.run("""
                C: c CHECK
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {20}
                S: Subject: note m1
                S: 
                S: )
                S: c OK CHECK completed
                C: f FETCH 1 (FLAGS)
                S: * 1 FETCH (FLAGS (\\Recent))
                S: f OK FETCH completed
                """)
            await client.close()
            await other.close()
        }
    }
}
