@testable import IMAPServer
import Testing

/// Client lines in, server lines out, for the corners of RFC 3501 and 9051 a strict client or a
/// conformance suite checks: RECENT after expunges, `[CLOSED]`, hierarchy levels in LIST, the saved
/// search result, keywords in any letter case, 7-bit names, HEADER on the field's own text.
@Suite struct SessionConformanceTranscriptTests {
    static func message(_ id: String, to: String = "Team Lead <lead@example.test>") -> String {
        """
        From: Ann Example <ann@example.test>
        To: \(to)
        Subject: note \(id)
        Date: Tue, 01 Dec 2026 23:30:00 -0800
        Message-ID: <\(id)@example.test>

        Body of \(id).
        """
    }

    // MARK: RECENT follows every change of the mailbox's size (RFC 3501 7.3.2)

    @Test func anExpungeOfRecentMessagesIsFollowedByTheNewRecentCount() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            for id in ["r1", "r2", "r3"] { try await writer.append(Self.message(id)) }
            let reader = try await nodes.login(account, node: 0)
            try await reader.run(selectInbox(exists: 3, recent: 3) + """
                C: t STATUS INBOX (MESSAGES RECENT)
                S: * STATUS INBOX (MESSAGES 3 RECENT 3)
                S: t OK STATUS completed
                C: d STORE 1 +FLAGS.SILENT (\\Deleted)
                S: d OK STORE completed
                C: x EXPUNGE
                S: * 1 EXPUNGE
                S: * 2 RECENT
                S: x OK EXPUNGE completed
                """)
            // Another node's expunge: the count follows on the next poll too.
            try await writer.run("""
                C: w SELECT INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 2 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 4] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: w OK [READ-WRITE] SELECT completed
                C: d UID STORE 2 +FLAGS.SILENT (\\Deleted)
                S: d OK UID STORE completed
                C: x EXPUNGE
                S: * 1 EXPUNGE
                S: x OK EXPUNGE completed
                """)
            try await reader.run("""
                C: n NOOP
                S: * 1 EXPUNGE
                S: * 1 RECENT
                S: n OK NOOP completed
                C: t STATUS INBOX (RECENT)
                S: * STATUS INBOX (RECENT 1)
                S: t OK STATUS completed
                """)
            for client in [writer, reader] { await client.close() }
        }
    }

    // MARK: A failed SELECT still closes the previous mailbox (RFC 9051 6.3.2)

    @Test func aFailedSelectSaysThePreviousMailboxIsClosed() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.run(selectInbox(exists: 0, recent: 0, unseen: false) + """
                C: m SELECT missing
                S: * OK [CLOSED] Previous mailbox closed
                S: m NO [NONEXISTENT] No such mailbox
                C: f FETCH 1 FLAGS
                S: f BAD No mailbox selected
                C: e EXAMINE "&AOQ"
                S: e NO [NONEXISTENT] Mailbox name is not valid modified UTF-7
                """)
            await client.close()
        }
    }

    // MARK: Selecting the selected mailbox again (RFC 9051 6.3.2)

    @Test func selectingTheSelectedMailboxAgainTellsItAsItIsNow() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            for id in ["a1", "a2", "a3"] { try await writer.append(Self.message(id)) }
            let reader = try await nodes.login(account, node: 0)
            try await reader.run(selectInbox(exists: 3, recent: 3) + """
                C: v SEARCH RETURN (SAVE) ALL
                S: v OK SEARCH completed
                """)
            try await writer.run(selectInbox(exists: 3, recent: 0, tag: "w") + """
                C: d STORE 1 +FLAGS.SILENT (\\Deleted)
                S: d OK STORE completed
                C: x EXPUNGE
                S: * 1 EXPUNGE
                S: x OK EXPUNGE completed
                C: k STORE 1 +FLAGS.SILENT (\\Seen $Done)
                S: k OK STORE completed
                C: c CLOSE
                S: c OK CLOSE completed
                """)
            try await writer.append(Self.message("a4"))
            // The reader heard of none of it: it gets the mailbox of now, claims the new message's
            // \Recent, loses the ones it had and its saved search, and learns the new keyword.
            try await reader.run("""
                C: s2 SELECT INBOX
                S: * OK [CLOSED] Previous mailbox closed
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done \\*)] Flags permitted
                S: * 3 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 5] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 2] First unseen
                S: s2 OK [READ-WRITE] SELECT completed
                C: f FETCH 1:* (UID FLAGS)
                S: * 1 FETCH (UID 2 FLAGS (…$Done…))
                S: * 2 FETCH (UID 3 FLAGS ())
                S: * 3 FETCH (UID 4 FLAGS (\\Recent))
                S: f OK FETCH completed
                C: g FETCH $ FLAGS
                S: g OK FETCH completed
                C: n NOOP
                S: n OK NOOP completed
                """)
            // What a session selecting it for the first time is told, \Recent aside.
            let third = try await nodes.login(account, node: 1)
            try await third.run("""
                C: s SELECT INBOX
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done \\*)] Flags permitted
                S: * 3 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 5] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 2] First unseen
                S: s OK [READ-WRITE] SELECT completed
                """)
            // A keyword the session learnt of without a FETCH (its own APPEND) is announced too.
            try await reader.append(Self.message("a5"), flags: "$Later")
            try await reader.run("""
                C: s3 SELECT INBOX
                S: * OK [CLOSED] Previous mailbox closed
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done $Later)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Done $Later \\*)] Flags permitted
                S: * 4 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 6] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 2] First unseen
                S: s3 OK [READ-WRITE] SELECT completed
                """)
            for client in [writer, reader, third] { await client.close() }
        }
    }

    @Test func examiningTheExaminedMailboxAgainStillShowsWhatNoSessionClaimedAsRecent() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account)
            for id in ["e1", "e2"] { try await writer.append(Self.message(id)) }
            let reader = try await nodes.login(account)
            let examine = """
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 2 EXISTS
                S: * 2 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 3] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                """
            try await reader.run("C: e EXAMINE INBOX\n" + examine + "\nS: e OK [READ-ONLY] EXAMINE completed")
            try await reader.run("C: e2 EXAMINE INBOX\nS: * OK [CLOSED] Previous mailbox closed\n" + examine
                                 + "\nS: e2 OK [READ-ONLY] EXAMINE completed")
            for client in [writer, reader] { await client.close() }
        }
    }

    @Test func selectingAgainAMailboxRenamedMeanwhileFindsTheOneNowOfThatName() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            try await writer.run("""
                C: c CREATE Work
                S: c OK [MAILBOXID (…)] CREATE completed
                """)
            try await writer.append(Self.message("w1"), to: "Work")
            let reader = try await nodes.login(account, node: 0)
            try await reader.run("""
                C: s SELECT Work
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: s OK [READ-WRITE] SELECT completed
                """)
            try await writer.run("""
                C: r RENAME Work Old
                S: r OK RENAME completed
                C: c2 CREATE Work
                S: c2 OK [MAILBOXID (…)] CREATE completed
                """)
            try await reader.run("""
                C: s2 SELECT Work
                S: * OK [CLOSED] Previous mailbox closed
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 0 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 1] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: s2 OK [READ-WRITE] SELECT completed
                C: r2 RENAME Work Gone
                S: r2 OK RENAME completed
                C: s3 SELECT Work
                S: * OK [CLOSED] Previous mailbox closed
                S: s3 NO [NONEXISTENT] No such mailbox
                """)
            for client in [writer, reader] { await client.close() }
        }
    }

    // MARK: An APPEND into the selected mailbox (RFC 3501 6.3.11, 2.3.2)

    /// Sends an APPEND of `message` as a non-synchronizing literal; the answer is read by `run`.
    static func appendCommand(_ message: String, tag: String) -> String {
        let bytes = message.replacingOccurrences(of: "\n", with: "\r\n")
        return "\(tag) APPEND INBOX {\(bytes.utf8.count)+}\r\n\(bytes)\r\n"
    }

    @Test func anAppendIntoTheSelectedMailboxIsToldAndRecentThereWhateverCameBetween() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let session = try await nodes.login(account, node: 0)
            let other = try await nodes.login(account, node: 1)
            try await session.run(selectInbox(exists: 0, recent: 0, unseen: false))
            // Nothing came between: the session's own message, recent here and nowhere else.
            try await session.sendRaw(Self.appendCommand(Self.message("p1"), tag: "a1"))
            try await session.run("""
                S: * 1 EXISTS
                S: * 1 RECENT
                S: a1 OK [APPENDUID … 1] APPEND completed
                C: f FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Recent))
                S: f OK FETCH completed
                """)
            try await other.run("""
                C: s STATUS INBOX (MESSAGES RECENT)
                S: * STATUS INBOX (MESSAGES 1 RECENT 0)
                S: s OK STATUS completed
                """)
            // A message no session claimed came first: the session's read claims both.
            try await other.append(Self.message("p2"))
            try await session.sendRaw(Self.appendCommand(Self.message("p3"), tag: "a2"))
            try await session.run("""
                S: * 3 EXISTS
                S: * 3 RECENT
                S: a2 OK [APPENDUID … 3] APPEND completed
                """)
            // A flag change came first: told with the new message, which stays recent here.
            try await other.run(selectInbox(exists: 3, recent: 0, unseen: true, tag: "o") + """
                C: o2 STORE 1 +FLAGS.SILENT (\\Seen)
                S: o2 OK STORE completed
                """)
            try await session.sendRaw(Self.appendCommand(Self.message("p4"), tag: "a3"))
            try await session.run("""
                S: * 4 EXISTS
                S: * 4 RECENT
                S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))
                S: a3 OK [APPENDUID … 4] APPEND completed
                C: f2 FETCH 1:4 FLAGS
                S: * 1 FETCH (FLAGS (\\Seen \\Recent))
                S: * 2 FETCH (FLAGS (\\Recent))
                S: * 3 FETCH (FLAGS (\\Recent))
                S: * 4 FETCH (FLAGS (\\Recent))
                S: f2 OK FETCH completed
                """)
            try await other.run("""
                C: n NOOP
                S: * 4 EXISTS
                S: * 0 RECENT
                S: n OK NOOP completed
                C: f FETCH 4 FLAGS
                S: * 4 FETCH (FLAGS ())
                S: f OK FETCH completed
                """)
            for client in [session, other] { await client.close() }
        }
    }

    // MARK: Levels of hierarchy (RFC 3501 6.3.4, 6.3.8, 6.3.9)

    @Test func aLevelWithoutAMailboxIsListedNoselectForPercent() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.run("""
                C: c CREATE Projects/2026/Q1
                S: c OK [MAILBOXID (…)] CREATE completed
                C: d DELETE Projects
                S: d OK DELETE completed
                C: l1 LIST "" Proj%
                S: * LIST (\\Noselect \\HasChildren) "/" Projects
                S: l1 OK LIST completed
                C: l2 LIST "" Projects/%
                S: * LIST (\\HasChildren) "/" Projects/2026
                S: l2 OK LIST completed
                C: l3 LIST "" Proj*
                S: * LIST (\\HasChildren) "/" Projects/2026
                S: * LIST (\\HasNoChildren) "/" Projects/2026/Q1
                S: l3 OK LIST completed
                C: s SELECT Projects
                S: s NO [NONEXISTENT] No such mailbox
                C: c2 CREATE Projects
                S: c2 OK [MAILBOXID (…)] CREATE completed
                C: l4 LIST "" Proj%
                S: * LIST (\\HasChildren) "/" Projects
                S: l4 OK LIST completed
                C: u LSUB "" ""
                S: u OK LSUB completed
                """)
            await client.close()
        }
    }

    // MARK: The saved search result (RFC 5182, part of RFC 9051 6.4.4)

    @Test func searchSavesItsResultForDollar() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.append(Self.message("s1"), flags: "\\Flagged")
            try await client.append(Self.message("s2"))
            try await client.append(Self.message("s3"), flags: "\\Flagged")
            try await client.run(selectInbox(exists: 3, recent: 3) + """
                C: f0 FETCH $ (FLAGS)
                S: f0 OK FETCH completed
                C: a SEARCH RETURN (SAVE) FLAGGED
                S: a OK SEARCH completed
                C: f FETCH $ (UID)
                S: * 1 FETCH (UID 1)
                S: * 3 FETCH (UID 3)
                S: f OK FETCH completed
                C: b SEARCH NOT $
                S: * SEARCH 2
                S: b OK SEARCH completed
                C: c UID SEARCH RETURN (SAVE MAX COUNT) $ SEEN
                S: * ESEARCH (TAG "c") UID COUNT 0
                S: c OK UID SEARCH completed
                C: d SEARCH RETURN (SAVE MIN) ALL
                S: * ESEARCH (TAG "d") MIN 1
                S: d OK SEARCH completed
                C: e UID STORE $ +FLAGS.SILENT (\\Seen)
                S: e OK UID STORE completed
                C: g SEARCH SEEN
                S: * SEARCH 1
                S: g OK SEARCH completed
                C: h SEARCH RETURN (SAVE) CHARSET X-NONE BODY x
                S: h NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
                C: i SEARCH $
                S: * SEARCH
                S: i OK SEARCH completed
                """)
            await client.close()
        }
    }

    // MARK: Keywords are one flag in any letter case

    @Test func aKeywordKeepsTheSpellingTheMailboxUses() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(Self.message("k1"))
            try await client.append(Self.message("k2"))
            try await client.run(selectInbox(exists: 2, recent: 2) + """
                C: a STORE 1 +FLAGS (Project)
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Project)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Project \\*)] Flags permitted
                S: * 1 FETCH (FLAGS (Project \\Recent))
                S: a OK STORE completed
                C: b STORE 1 +FLAGS (project)
                S: b OK STORE completed
                C: c STORE 2 +FLAGS (PROJECT)
                S: * 2 FETCH (FLAGS (Project \\Recent))
                S: c OK STORE completed
                C: d SEARCH KEYWORD project
                S: * SEARCH 1 2
                S: d OK SEARCH completed
                C: e STORE 1 -FLAGS (PROJECT)
                S: * 1 FETCH (FLAGS (\\Recent))
                S: e OK STORE completed
                """)
            let other = try await nodes.login(account, node: 1)
            try await other.run("""
                C: x EXAMINE INBOX
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen Project)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 2 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 3] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: x OK [READ-ONLY] EXAMINE completed
                C: f FETCH 1:2 FLAGS
                S: * 1 FETCH (FLAGS ())
                S: * 2 FETCH (FLAGS (Project))
                S: f OK FETCH completed
                """)
            for session in [client, other] { await session.close() }
        }
    }

    // MARK: Names and HEADER

    @Test func eightBitNamesAreNotModifiedUTF7BeforeIMAP4rev2() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.run("""
                C: c CREATE "caf\u{E9}"
                S: c NO [CANNOT] Mailbox name is not valid modified UTF-7
                C: d CREATE "caf&AOk-"
                S: d OK [MAILBOXID (…)] CREATE completed
                C: s STATUS "caf\u{E9}" (MESSAGES)
                S: s NO [NONEXISTENT] Mailbox name is not valid modified UTF-7
                """)
            await client.close()
        }
    }

    @Test func headerSearchesReadTheFieldAsWritten() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.append(Self.message("h1", to: "\"Lead, Team\" <lead@example.test>"))
            try await client.append(Self.message("h2", to: "crew: a@example.test, b@example.test;"))
            try await client.run(selectInbox(exists: 2, recent: 2) + """
                C: a SEARCH HEADER To "\\"Lead, Team\\" <lead"
                S: * SEARCH 1
                S: a OK SEARCH completed
                C: b SEARCH HEADER To "a@example.test, b@"
                S: * SEARCH 2
                S: b OK SEARCH completed
                C: c SEARCH HEADER To "test;"
                S: * SEARCH 2
                S: c OK SEARCH completed
                C: d SEARCH TO "crew"
                S: * SEARCH 2
                S: d OK SEARCH completed
                """)
            await client.close()
        }
    }

    // MARK: A rejected command does not end the session (RFC 3501 7.1.3, RFC 7888)

    @Test func aMultiappendRejectedBetweenMessagesStoresNothingAndTheSessionGoesOn() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            let first = Self.message("m1").replacingOccurrences(of: "\n", with: "\r\n")
            let second = Self.message("m2").replacingOccurrences(of: "\n", with: "\r\n")
            try await client.sendRaw("m APPEND INBOX {\(first.utf8.count)+}\r\n\(first) (\\Recent) {\(second.utf8.count)+}\r\n\(second)\r\n")
            try await client.run("""
                S: m BAD …
                C: n NOOP
                S: n OK NOOP completed
                C: t STATUS INBOX (MESSAGES)
                S: * STATUS INBOX (MESSAGES 0)
                S: t OK STATUS completed
                """)
            try await client.sendRaw("s SEARCH SUBJECT ~{3+}\r\nabc\r\n")
            try await client.run("""
                S: s BAD literal8 is only allowed for APPEND data and metadata values
                C: n NOOP
                S: n OK NOOP completed
                """)
            #expect(await !client.isClosedByServer)
            await client.close()
        }
    }

    // MARK: RENAME INBOX (RFC 3501 6.3.5)

    @Test func renamingInboxMovesItsMessagesAndLeavesItEmpty() async throws {
        try await IMAPTestNodes.with { nodes in
            let client = try await nodes.login(try await nodes.makeAccount())
            try await client.append(Self.message("i1"))
            try await client.append(Self.message("i2"), flags: "\\Seen")
            try await client.run("""
                C: c CREATE INBOX/Sub
                S: c OK [MAILBOXID (…)] CREATE completed
                C: r RENAME INBOX "Old mail"
                S: r OK RENAME completed
                C: s1 STATUS INBOX (MESSAGES)
                S: * STATUS INBOX (MESSAGES 0)
                S: s1 OK STATUS completed
                C: s2 STATUS "Old mail" (MESSAGES UNSEEN)
                S: * STATUS "Old mail" (MESSAGES 2 UNSEEN 1)
                S: s2 OK STATUS completed
                C: l LIST "" INBOX*
                S: * LIST (\\HasChildren) "/" INBOX
                S: * LIST (\\HasNoChildren) "/" INBOX/Sub
                S: l OK LIST completed
                C: r2 RENAME INBOX "Old mail"
                S: r2 NO [ALREADYEXISTS] Mailbox already exists
                """)
            await client.close()
        }
    }

    // MARK: CHECK polls like NOOP (RFC 3501 6.4.1)

    @Test func checkReportsWhatAnotherSessionChanged() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 1)
            try await writer.append(Self.message("c1"))
            let reader = try await nodes.login(account, node: 0)
            try await reader.run(selectInbox(exists: 1, recent: 1))
            try await writer.run(selectInbox(exists: 1, recent: 0, tag: "w"))
            try await writer.run("""
                C: f STORE 1 FLAGS.SILENT (\\Answered)
                S: f OK STORE completed
                """)
            try await reader.run("""
                C: c CHECK
                S: * 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))
                S: c OK CHECK completed
                C: g FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Answered \\Recent))
                S: g OK FETCH completed
                """)
            for client in [writer, reader] { await client.close() }
        }
    }
}
