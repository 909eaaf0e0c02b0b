@testable import IMAPServer
import MailCore
import Testing

/// Client lines in, server lines out: the session of a node, over a testing channel, against a
/// real Postgres and Redis. Two nodes where a behaviour crosses sessions.
@Suite struct SessionTranscriptTests {
    static let plain = """
        From: Ann Example <ann@example.test>
        To: Team Lead <lead@example.test>
        Subject: weekly report
        Date: Tue, 01 Dec 2026 23:30:00 -0800
        Message-ID: <weekly-1@example.test>

        Numbers are up.
        See you Monday.
        """

    // MARK: \Recent (RFC 3501 2.3.2)

    @Test func aMessageIsRecentInExactlyOneSessionWhicheverNodeAddedIt() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let first = try await nodes.login(account, node: 0)
            let second = try await nodes.login(account, node: 1)
            try await first.run(selectInbox(exists: 0, recent: 0, unseen: false))
            try await second.append(Self.plain)
            try await first.run("""
                C: n NOOP
                S: * 1 EXISTS
                S: * 1 RECENT
                S: n OK NOOP completed
                C: f FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Recent))
                S: f OK FETCH completed
                C: r SEARCH RECENT
                S: * SEARCH 1
                S: r OK SEARCH completed
                C: w SEARCH NEW
                S: * SEARCH 1
                S: w OK SEARCH completed
                C: o SEARCH OLD
                S: * SEARCH
                S: o OK SEARCH completed
                """)
            // The other node's session sees the message, but not as recent.
            try await second.run(selectInbox(exists: 1, recent: 0))
            try await second.run("""
                C: f FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS ())
                S: f OK FETCH completed
                """)
            // EXAMINE reports a new message as recent but leaves it to the session that takes it.
            let third = try await nodes.login(account, node: 1)
            try await third.append(Self.plain.replacingOccurrences(of: "weekly-1@", with: "weekly-2@"))
            try await third.run("""
                C: st STATUS INBOX (MESSAGES RECENT)
                S: * STATUS INBOX (MESSAGES 2 RECENT 1)
                S: st OK STATUS completed
                C: e EXAMINE INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 2 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 3] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: e OK [READ-ONLY] EXAMINE completed
                """)
            try await first.run("""
                C: n NOOP
                S: * 2 EXISTS
                S: * 2 RECENT
                S: n OK NOOP completed
                """)
            for client in [first, second, third] { await client.close() }
        }
    }

    @Test func underIMAP4rev2NothingIsRecentSearchAnswersInESEARCHAndNamesAreUTF8() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(Self.plain)
            try await client.run("""
                C: e ENABLE IMAP4rev2
                S: * ENABLED IMAP4rev2
                S: e OK ENABLE completed
                C: e2 ENABLE IMAP4rev2 X-UNKNOWN
                S: * ENABLED
                S: e2 OK ENABLE completed
                C: s SELECT inbox
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 1 EXISTS
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * LIST () "/" INBOX
                S: s OK [READ-WRITE] SELECT completed
                C: f FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS ())
                S: f OK FETCH completed
                C: a SEARCH ALL
                S: * ESEARCH (TAG "a") ALL 1
                S: a OK SEARCH completed
                C: u UID SEARCH SEEN
                S: * ESEARCH (TAG "u") UID
                S: u OK UID SEARCH completed
                C: r SEARCH RECENT
                S: r BAD RECENT, NEW and OLD are not search keys of IMAP4rev2
                C: t STATUS INBOX (RECENT)
                S: t BAD RECENT is not a STATUS item of IMAP4rev2
                C: c1 CREATE "Grüße & Co"
                S: c1 OK [MAILBOXID (…)] CREATE completed
                C: l1 LIST "" "Gr*"
                S: * LIST (\\HasNoChildren) "/" "Grüße & Co"
                S: l1 OK LIST completed
                C: s1 STATUS "Grüße & Co" (MESSAGES)
                S: * STATUS "Grüße & Co" (MESSAGES 0)
                S: s1 OK STATUS completed
                """)
            // An IMAP4rev1 session still finds the message recent, and the name in modified UTF-7.
            let other = try await nodes.login(account)
            try await other.run("""
                C: s EXAMINE INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: s OK [READ-ONLY] EXAMINE completed
                C: l LIST "" "Gr*"
                S: * LIST (\\HasNoChildren) "/" "Gr&APwA3w-e &- Co"
                S: l OK LIST completed
                """)
            for session in [client, other] { await session.close() }
        }
    }

    /// A client that enables IMAP4rev2 after SELECT sees no `\\Recent` from then on, though the
    /// session had claimed the message under IMAP4rev1.
    @Test func enablingIMAP4rev2WithAMailboxSelectedDropsRecent() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(Self.plain)
            try await client.run(selectInbox(exists: 1, recent: 1))
            try await client.run("""
                C: f FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Recent))
                S: f OK FETCH completed
                C: e ENABLE IMAP4rev2
                S: * ENABLED IMAP4rev2
                S: e OK ENABLE completed
                C: g FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS ())
                S: g OK FETCH completed
                """)
            await client.close()
        }
    }

    // MARK: Keywords (RFC 3501 7.2.6)

    @Test func aNewKeywordIsAnnouncedToEverySessionBeforeAFetchShowsIt() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let setter = try await nodes.login(account, node: 0)
            try await setter.append(Self.plain, flags: "\\Seen")
            let watcher = try await nodes.login(account, node: 1)
            try await watcher.run("""
                C: s SELECT INBOX
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen \\*)] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: s OK [READ-WRITE] SELECT completed
                """)
            try await setter.run("""
                C: s SELECT INBOX
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen \\*)] …
                S: * 1 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: s OK [READ-WRITE] SELECT completed
                C: k STORE 1 +FLAGS ($Project)
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Project)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Project \\*)] …
                S: * 1 FETCH (FLAGS ($Project \\Seen))
                S: k OK STORE completed
                """)
            try await watcher.run("""
                C: n NOOP
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Project)
                S: * OK [PERMANENTFLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Project \\*)] …
                S: * 1 FETCH (UID 1 FLAGS ($Project \\Seen \\Recent))
                S: n OK NOOP completed
                """)
            // A session that selects afterwards finds the keyword in FLAGS from the start.
            let late = try await nodes.login(account, node: 1)
            try await late.run("""
                C: e EXAMINE INBOX
                S: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Project)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 1 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: e OK [READ-ONLY] EXAMINE completed
                """)
            for client in [setter, watcher, late] { await client.close() }
        }
    }

    // MARK: Subscriptions (RFC 3501 6.3.6 to 6.3.9)

    @Test func subscriptionsAreStoredAndOutliveTheirMailboxes() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account, node: 0)
            try await client.run("""
                C: c CREATE Projects/2026
                S: c OK [MAILBOXID (…)] CREATE completed
                C: u SUBSCRIBE Projects/2026
                S: u OK SUBSCRIBE completed
                C: l LSUB "" Projects/%
                S: * LSUB (\\HasNoChildren) "/" Projects/2026
                S: l OK LSUB completed
                C: p LSUB "" %
                S: * LSUB (\\HasNoChildren) "/" INBOX
                S: * LSUB (\\HasNoChildren \\Sent) "/" Sent
                S: * LSUB (\\HasNoChildren \\Drafts) "/" Drafts
                S: * LSUB (\\HasNoChildren \\Trash) "/" Trash
                S: * LSUB (\\HasNoChildren \\Junk) "/" Junk
                S: * LSUB (\\HasNoChildren \\Archive) "/" Archive
                S: * LSUB (\\Noselect) "/" Projects
                S: p OK LSUB completed
                C: d DELETE Projects/2026
                S: d OK DELETE completed
                """)
            await client.close()
            // Another session on another node: the subscription is still there, its mailbox is not.
            let other = try await nodes.login(account, node: 1)
            try await other.run("""
                C: l LSUB "" Projects/*
                S: * LSUB (\\Noselect) "/" Projects/2026
                S: l OK LSUB completed
                C: x LIST (SUBSCRIBED) "" Projects/*
                S: * LIST (\\NonExistent \\Subscribed) "/" Projects/2026
                S: x OK LIST completed
                C: v UNSUBSCRIBE Projects/2026
                S: v OK UNSUBSCRIBE completed
                C: w UNSUBSCRIBE Projects/2026
                S: w NO [NONEXISTENT] Not subscribed to this name
                """)
            await other.close()
        }
    }

    // MARK: Mailbox names (RFC 3501 5.1, 5.1.3)

    @Test func namesInModifiedUTF7RoundTripAndInvalidOnesAreNo() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.run("""
                C: c1 CREATE p&AOQA5A-
                S: c1 OK [MAILBOXID (…)] CREATE completed
                C: c2 CREATE "stuff &- things"
                S: c2 OK [MAILBOXID (…)] CREATE completed
                C: l1 LIST "" p*
                S: * LIST (\\HasNoChildren) "/" p&AOQA5A-
                S: l1 OK LIST completed
                C: l2 LIST "" "stuff &-*"
                S: * LIST (\\HasNoChildren) "/" "stuff &- things"
                S: l2 OK LIST completed
                C: s1 STATUS p&AOQA5A- (MESSAGES)
                S: * STATUS p&AOQA5A- (MESSAGES 0)
                S: s1 OK STATUS completed
                C: r1 RENAME p&AOQA5A- q&AOQA5A-
                S: r1 OK RENAME completed
                C: e1 EXAMINE q&AOQA5A-
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 0 EXISTS
                S: * 0 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 1] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: e1 OK [READ-ONLY] EXAMINE completed
                C: d1 DELETE q&AOQA5A-
                S: d1 OK DELETE completed
                C: b1 CREATE &Jjo
                S: b1 NO [CANNOT] Mailbox name is not valid modified UTF-7
                C: b2 SELECT &AGE-
                S: b2 NO [NONEXISTENT] Mailbox name is not valid modified UTF-7
                C: b3 LIST "" "#$&'+,-.:;<=>?@^_`|}"
                S: b3 OK LIST completed
                C: b4 LIST "" "!#$&'+,-.:;<=>?@^_`|}*%"
                S: b4 OK LIST completed
                C: n NOOP
                S: n OK NOOP completed
                """)
            await client.close()
        }
    }

    // MARK: SEARCH (RFC 3501 6.4.4) and ESEARCH (RFC 4731)

    @Test func searchKeysFollowTheRFC() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append("""
                From: "Ann Example" <ann@example.test>
                To: project-team: bob@example.test, carol@example.test;
                Subject: weekly report
                Date: Tue, 01 Dec 2026 23:30:00 -0800

                Numbers are up.
                """)
            try await client.run("""
                C: s EXAMINE INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: s OK [READ-ONLY] EXAMINE completed
                C: a1 SEARCH SENTON 1-Dec-2026
                S: * SEARCH 1
                S: a1 OK SEARCH completed
                C: a2 SEARCH SENTON 2-Dec-2026
                S: * SEARCH
                S: a2 OK SEARCH completed
                C: a3 SEARCH SENTBEFORE 2-Dec-2026 SENTSINCE 1-Dec-2026
                S: * SEARCH 1
                S: a3 OK SEARCH completed
                C: b1 SEARCH HEADER Subject ""
                S: * SEARCH 1
                S: b1 OK SEARCH completed
                C: b2 SEARCH HEADER Cc ""
                S: * SEARCH
                S: b2 OK SEARCH completed
                C: c1 SEARCH FROM "ann example"
                S: * SEARCH 1
                S: c1 OK SEARCH completed
                C: c2 SEARCH TO project-team
                S: * SEARCH 1
                S: c2 OK SEARCH completed
                C: c3 SEARCH CHARSET UTF-8 SUBJECT WEEKLY
                S: * SEARCH 1
                S: c3 OK SEARCH completed
                C: c4 SEARCH CHARSET KOI8-Q SUBJECT weekly
                S: c4 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
                C: e1 SEARCH RETURN () ALL
                S: * ESEARCH (TAG "e1") ALL 1
                S: e1 OK SEARCH completed
                C: e2 UID SEARCH RETURN (MIN MAX COUNT) SUBJECT nothing-like-this
                S: * ESEARCH (TAG "e2") UID COUNT 0
                S: e2 OK UID SEARCH completed
                C: e3 SEARCH RETURN (COUNT MIN) ALL
                S: * ESEARCH (TAG "e3") MIN 1 COUNT 1
                S: e3 OK SEARCH completed
                """)
            await client.close()
        }
    }

    // MARK: BODYSTRUCTURE, ENVELOPE, sections (RFC 3501 7.4.2)

    @Test func bodyStructureCountsLineBreaksAndKeepsWrittenCase() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            let message = "From: a@example.test\r\nSubject: x\r\nContent-Type: Text/Plain; charset=us-ascii\r\n"
                + "Content-Transfer-Encoding: X-Custom\r\nContent-Language: en\r\n\r\nline one\r\nline two"
            try await client.sendRaw("ap APPEND INBOX {\(message.utf8.count)+}\r\n\(message)\r\n")
            _ = try await client.readUntilTagged("ap")
            try await client.run("""
                C: s EXAMINE INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: s OK [READ-ONLY] EXAMINE completed
                C: f FETCH 1 (BODYSTRUCTURE ENVELOPE)
                S: * 1 FETCH (BODYSTRUCTURE ("Text" "Plain" ("charset" "us-ascii") NIL NIL "X-Custom" 18 1 NIL NIL ("en") NIL) ENVELOPE (NIL "x" ((NIL NIL "a" "example.test")) ((NIL NIL "a" "example.test")) ((NIL NIL "a" "example.test")) NIL NIL NIL NIL NIL))
                S: f OK FETCH completed
                C: g FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME])
                S: * 1 FETCH (BODY[1] {18}
                S: line one
                S: line two BODY[1.MIME] {…}
                S: From: a@example.test
                S: Subject: x
                S: Content-Type: Text/Plain; charset=us-ascii
                S: Content-Transfer-Encoding: X-Custom
                S: Content-Language: en
                S: 
                S: )
                S: g OK FETCH completed
                """)
            await client.close()
        }
    }

    /// Every empty section is a zero-length literal, never a quoted empty string.
    @Test func emptySectionsAreSentOneWay() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append("""
                From: a@example.test
                Subject: empty part
                Content-Type: multipart/mixed; boundary=b

                --b

                --b


                --b
                Content-Type: text/plain

                two
                --b--
                """)
            try await client.run("""
                C: s EXAMINE INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS ()] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: s OK [READ-ONLY] EXAMINE completed
                C: f1 FETCH 1 BODY.PEEK[1]
                S: * 1 FETCH (BODY[1] {0}
                S: )
                S: f1 OK FETCH completed
                C: f2 FETCH 1 BODY.PEEK[HEADER.FIELDS (X-None)]
                S: * 1 FETCH (BODY[HEADER.FIELDS (X-NONE)] {2}
                S: 
                S: )
                S: f2 OK FETCH completed
                C: f3 FETCH 1 BODY.PEEK[]<100000.10>
                S: * 1 FETCH (BODY[]<100000> {0}
                S: )
                S: f3 OK FETCH completed
                C: f4 FETCH 1 BODY.PEEK[4]
                S: * 1 FETCH (BODY[4] {0}
                S: )
                S: f4 OK FETCH completed
                C: f5 FETCH 1 (BODY.PEEK[1.MIME] BINARY.SIZE[1])
                S: * 1 FETCH (BODY[1.MIME] {0}
                S:  BINARY.SIZE[1] 0)
                S: f5 OK FETCH completed
                C: f6 FETCH 1 (BODY.PEEK[2.MIME] BODY.PEEK[2])
                S: * 1 FETCH (BODY[2.MIME] {2}
                S: 
                S:  BODY[2] {0}
                S: )
                S: f6 OK FETCH completed
                """)
            await client.close()
        }
    }

    // MARK: STATUS=SIZE (RFC 8438), APPENDLIMIT (RFC 7889)

    @Test func statusReportsSizeAndTheAppendLimitThatCapabilityAdvertises() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            let limit = nodes.contexts[0].limits.maxAppendLiteralSize
            try await client.append(Self.plain)
            let size = Self.plain.replacingOccurrences(of: "\n", with: "\r\n").utf8.count
            try await client.run("""
                C: c CAPABILITY
                S: * CAPABILITY … STATUS=SIZE CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS OBJECTID WITHIN PREVIEW UNAUTHENTICATE SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ACL RIGHTS=texk METADATA COMPRESS=DEFLATE SAVEDATE NOTIFY APPENDLIMIT=\(limit)
                S: c OK CAPABILITY completed
                C: s STATUS INBOX (MESSAGES SIZE APPENDLIMIT)
                S: * STATUS INBOX (MESSAGES 1 SIZE \(size) APPENDLIMIT \(limit))
                S: s OK STATUS completed
                C: a APPEND INBOX {\(limit + 1)}
                S: a NO [TOOBIG] Message too large (maximum \(limit) octets)
                C: n NOOP
                S: n OK NOOP completed
                """)
            await client.close()
        }
    }

    // MARK: MULTIAPPEND (RFC 3502) and the quota

    /// A MULTIAPPEND is stored whole or not at all: when its messages together pass the grant's
    /// quota, none is stored and the answer says OVERQUOTA.
    @Test func multiAppendBeyondTheQuotaStoresNothing() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            try await nodes.contexts[0].store.setQuotaLimit(grant: account.grant.id, bytes: 250)
            let client = try await nodes.login(account)
            func message(_ size: Int) -> String {
                let head = "Subject: part\r\n\r\n"
                return head + String(repeating: "x", count: size - head.utf8.count - 2) + "\r\n"
            }
            func multiAppend(_ tag: String, _ sizes: [Int]) async throws -> String? {
                let literals = sizes.map { "{\($0)+}\r\n\(message($0))" }.joined(separator: " ")
                try await client.sendRaw("\(tag) APPEND INBOX \(literals)\r\n")
                return try await client.readUntilTagged(tag).last
            }
            let first = try await multiAppend("a", [100, 100])
            #expect(first?.hasPrefix("a OK [APPENDUID ") == true && first?.contains(" 1:2]") == true, "\(first ?? "")")
            let second = try await multiAppend("b", [30, 30, 30])
            #expect(second?.hasPrefix("b NO [OVERQUOTA] ") == true, "\(second ?? "")")
            try await client.run("""
                C: s STATUS INBOX (MESSAGES SIZE)
                S: * STATUS INBOX (MESSAGES 2 SIZE 200)
                S: s OK STATUS completed
                """)
            await client.close()
        }
    }

    /// A non-synchronizing APPEND into a system folder goes by the folder's fixed id and is checked
    /// against the quota when it commits; any other name, and a synchronizing literal, are looked
    /// up before the bytes as ever. Each answers as RFC 3501 6.3.11 says, whichever way it went.
    @Test func appendsIntoSystemFoldersAnswerAsAnyOther() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let store = nodes.contexts[0].store
            let client = try await nodes.login(account)
            let message = "Subject: filed\r\n\r\nbody\r\n"
            func append(_ tag: String, _ mailbox: String, synchronizing: Bool = false) async throws -> [String] {
                if synchronizing {
                    try await client.sendRaw("\(tag) APPEND \(mailbox) {\(message.utf8.count)}\r\n")
                    let answer = try await client.readLine()
                    guard answer.hasPrefix("+") else { return [answer] }
                    try await client.sendRaw("\(message)\r\n")
                } else {
                    try await client.sendRaw("\(tag) APPEND \(mailbox) {\(message.utf8.count)+}\r\n\(message)\r\n")
                }
                return try await client.readUntilTagged(tag)
            }
            for (index, system) in SystemFolder.allCases.enumerated() {
                let folder = try #require(try await store.folder(grant: account.grant.id, id: system.apiID))
                let answer = try await append("a\(index)", system.imapName)
                #expect(answer == ["a\(index) OK [APPENDUID \(folder.uidValidity) 1] APPEND completed"], "\(system)")
                let stored = try await store.snapshot(grant: account.grant.id, folderID: system.apiID)
                #expect(stored.messages.map(\.uid) == [1], "\(system)")
            }
            // IMAP names are case-sensitive but for INBOX: "sent" is no system folder, and there is none.
            #expect(try await append("b1", "sent").last?.hasPrefix("b1 NO [TRYCREATE] ") == true)
            #expect(try await append("b2", "inbox").last?.hasPrefix("b2 OK [APPENDUID ") == true)
            #expect(try await append("b3", "Nowhere").last?.hasPrefix("b3 NO [TRYCREATE] ") == true)

            #expect(try await append("b4", "Sent", synchronizing: true).last?.hasPrefix("b4 OK [APPENDUID ") == true)

            let used = try await store.quota(grant: account.grant.id).usedBytes
            let limit = used + Int64(message.utf8.count) + 10
            try await store.setQuotaLimit(grant: account.grant.id, bytes: limit)
            let refusal = "NO [OVERQUOTA] Quota exceeded (limit \(limit) bytes)"
            // A MULTIAPPEND whose second literal is synchronizing: that one is checked before the
            // client sends it, counting the first, although the first went unchecked.
            try await client.sendRaw("c1 APPEND Drafts {\(message.utf8.count)+}\r\n\(message) {\(message.utf8.count)}\r\n")
            #expect(try await client.readLine() == "c1 \(refusal)")
            // The first message fits; two would not. Without waiting, the bytes arrive anyway and
            // the commit refuses them, whole.
            try await client.sendRaw("c2 APPEND Drafts {\(message.utf8.count)+}\r\n\(message) {\(message.utf8.count)+}\r\n\(message)\r\n")
            #expect(try await client.readUntilTagged("c2") == ["c2 \(refusal)"])
            // A synchronizing literal is refused before the client sends it.
            try await store.setQuotaLimit(grant: account.grant.id, bytes: used + Int64(message.utf8.count) - 1)
            #expect(try await append("c3", "Drafts", synchronizing: true)
                == ["c3 NO [OVERQUOTA] Quota exceeded (limit \(used + Int64(message.utf8.count) - 1) bytes)"])
            try await client.run("""
                C: s STATUS Drafts (MESSAGES)
                S: * STATUS Drafts (MESSAGES 1)
                S: s OK STATUS completed
                """)
            await client.close()
        }
    }

    // MARK: BINARY (RFC 3516)

    @Test func binaryFetchDecodesAndRefusesUnknownEncodings() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append("""
                From: a@example.test
                Subject: encoded
                MIME-Version: 1.0
                Content-Type: multipart/mixed; boundary=b

                --b
                Content-Type: text/plain
                Content-Transfer-Encoding: base64

                aGVsbG8gd29ybGQ=
                --b
                Content-Type: application/octet-stream
                Content-Transfer-Encoding: x-unknown

                abc
                --b--
                """)
            try await client.run(selectInbox(exists: 1, recent: 1))
            try await client.run("""
                C: b1 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])
                S: * 1 FETCH (BINARY[1] {11}
                S: hello world BINARY.SIZE[1] 11)
                S: b1 OK FETCH completed
                C: b2 FETCH 1 BINARY.PEEK[2]
                S: b2 NO [UNKNOWN-CTE] …
                C: b3 APPEND INBOX ~{6+}
                """)
            try await client.sendRaw("a\0b\r\n\r\n")
            let appended = try await client.readUntilTagged("b3")
            #expect(appended.last?.hasPrefix("b3 OK [APPENDUID ") == true)
            await client.close()
        }
    }

    // MARK: Errors (RFC 9051 7.1)

    @Test func failuresAreNoWithTheirCodeAndSyntaxIsBadAndTheSessionGoesOn() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(Self.plain)
            try await client.run("""
                C: e1 CREATE INBOX
                S: e1 NO [ALREADYEXISTS] INBOX already exists
                C: e2 CREATE Sent
                S: e2 NO [ALREADYEXISTS] Mailbox already exists
                C: e3 DELETE Nowhere
                S: e3 NO [NONEXISTENT] No such mailbox
                C: e4 DELETE Trash
                S: e4 NO [CANNOT] …
                C: e5 SELECT INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 1 EXISTS
                S: * 1 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 2] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (…)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: e5 OK [READ-WRITE] SELECT completed
                C: e6 COPY 1 Nowhere
                S: e6 NO [TRYCREATE] …
                C: e7 FETCH 2 FLAGS
                S: e7 BAD …
                C: e8 FETCH 1 (FLAGS
                S: e8 BAD …
                C: e9 XYZZY
                S: e9 BAD …XYZZY
                C: f1 UID FETCH 99 FLAGS
                S: f1 OK UID FETCH completed
                C: f2 FETCH 1 FLAGS
                S: * 1 FETCH (FLAGS (\\Recent))
                S: f2 OK FETCH completed
                """)
            await client.close()
        }
    }
}
