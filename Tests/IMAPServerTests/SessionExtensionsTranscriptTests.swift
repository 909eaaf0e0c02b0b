@testable import IMAPServer
import IMAPGrammar
import MailCore
import Testing

/// The listing extensions clients use to fill a folder pane in one round trip: LIST-EXTENDED
/// (RFC 5258) and LIST-STATUS (RFC 5819).
@Suite struct SessionExtensionsTranscriptTests {
    @Test func listReturnsStatusForEveryMailboxThatCanBeSelected() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(SessionConformanceTranscriptTests.message("l1"))
            try await client.append(SessionConformanceTranscriptTests.message("l2"), flags: "\\Seen")
            try await client.run("""
                C: c CREATE Projects/2026
                S: c OK [MAILBOXID (…)] CREATE completed
                C: d DELETE Projects
                S: d OK DELETE completed
                C: s SUBSCRIBE Gone
                S: s OK SUBSCRIBE completed
                C: l LIST "" (INBOX Projects%) RETURN (STATUS (MESSAGES UNSEEN UIDNEXT) CHILDREN)
                S: * LIST (\\HasNoChildren) "/" INBOX
                S: * STATUS INBOX (MESSAGES 2 UNSEEN 1 UIDNEXT 3)
                S: * LIST (\\Noselect \\HasChildren) "/" Projects
                S: l OK LIST completed
                C: m LIST "" Projects/% RETURN (STATUS (MESSAGES SIZE))
                S: * LIST (\\HasNoChildren) "/" Projects/2026
                S: * STATUS Projects/2026 (MESSAGES 0 SIZE 0)
                S: m OK LIST completed
                C: n LIST (SUBSCRIBED) "" G* RETURN (STATUS (MESSAGES))
                S: * LIST (\\NonExistent \\Subscribed) "/" Gone
                S: n OK LIST completed
                C: o LIST (REMOTE) "" INBOX RETURN (SUBSCRIBED)
                S: * LIST (\\HasNoChildren \\Subscribed) "/" INBOX
                S: o OK LIST completed
                C: p LIST (SOMETHING) "" *
                S: p BAD Unknown LIST selection option SOMETHING
                C: q LIST "" * RETURN (SOMETHING)
                S: q BAD Unknown LIST return option SOMETHING
                """)
            await client.close()
        }
    }

    /// OBJECTID (RFC 8474): the ids IMAP shows are the API's folder, message and thread ids.
    @Test func objectIDsAreTheAPIsIDs() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append(SessionConformanceTranscriptTests.message("o1"))
            try await client.append(SessionConformanceTranscriptTests.message("o2"))
            let store = nodes.contexts[0].store
            let messages = try await store.fetch(grant: account.grant.id, folderID: "inbox", uids: .all, includeRaw: false)
            let (first, second) = (messages[0], messages[1])
            try await client.run("""
                C: c CREATE Receipts
                S: c OK [MAILBOXID (…)] CREATE completed
                """)
            let receipts = try #require(try await store.folders(grant: account.grant.id).first { $0.name == "Receipts" })
            try await client.run("""
                C: s STATUS Receipts (MESSAGES MAILBOXID)
                S: * STATUS Receipts (MESSAGES 0 MAILBOXID (\(receipts.id)))
                S: s OK STATUS completed
                C: l LIST "" Receipts RETURN (STATUS (MAILBOXID))
                S: * LIST (\\HasNoChildren) "/" Receipts
                S: * STATUS Receipts (MAILBOXID (\(receipts.id)))
                S: l OK LIST completed
                C: x SELECT INBOX
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 2 EXISTS
                S: * 2 RECENT
                S: * OK [UIDVALIDITY …] UIDs valid
                S: * OK [UIDNEXT 3] Predicted next UID
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * OK [MAILBOXID (inbox)] Mailbox id
                S: * OK [UNSEEN 1] First unseen
                S: x OK [READ-WRITE] SELECT completed
                C: f FETCH 1:2 (EMAILID THREADID)
                S: * 1 FETCH (EMAILID (\(first.id)) THREADID (\(first.threadID)))
                S: * 2 FETCH (EMAILID (\(second.id)) THREADID (\(second.threadID)))
                S: f OK FETCH completed
                C: e SEARCH EMAILID \(second.id)
                S: * SEARCH 2
                S: e OK SEARCH completed
                C: t UID SEARCH THREADID \(first.threadID)
                S: * SEARCH 1
                S: t OK UID SEARCH completed
                C: u SEARCH EMAILID \(second.id.uppercased())
                S: * SEARCH
                S: u OK SEARCH completed
                C: b SEARCH EMAILID not*an*id
                S: b BAD …
                """)
            await client.close()
        }
    }

    /// PREVIEW (RFC 8970): the API's snippet, in UTF-8, a literal when it is not ASCII.
    @Test func previewIsTheAPIsSnippet() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.append("""
                From: Ann <ann@example.test>
                Subject: plans
                Message-ID: <p1@example.test>

                Lunch at noon,   then the review.
                """)
            try await client.append("""
                From: Ann <ann@example.test>
                Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
                Message-ID: <p2@example.test>
                Content-Type: text/plain; charset=utf-8
                Content-Transfer-Encoding: quoted-printable

                Gr=C3=BC=C3=9Fe aus Z=C3=BCrich
                """)
            try await client.run(selectInbox(exists: 2, recent: 2))
            try await client.run("""
                C: p FETCH 1 (PREVIEW)
                S: * 1 FETCH (PREVIEW "Lunch at noon, then the review.")
                S: p OK FETCH completed
                C: q FETCH 2 (PREVIEW (LAZY))
                S: * 2 FETCH (PREVIEW {19}
                S: Grüße aus Zürich)
                S: q OK FETCH completed
                """)
            await client.close()
        }
    }

    /// IMAP4rev2 with every extension of this server enabled together (issue 12's last item): no
    /// \Recent anywhere, ESEARCH with MODSEQ, VANISHED, UTF-8 names in LIST-STATUS and OBJECTID.
    @Test func imap4rev2WithEveryExtensionEnabled() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            for id in ["r1", "r2", "r3"] { try await client.append(SessionConformanceTranscriptTests.message(id)) }
            let inbox = try #require(try await nodes.contexts[0].store.folder(grant: account.grant.id, id: "inbox"))
            try await client.run("""
                C: e ENABLE IMAP4rev2 QRESYNC CONDSTORE
                S: * ENABLED IMAP4rev2 QRESYNC CONDSTORE
                S: e OK ENABLE completed
                C: c CREATE "Café"
                S: c OK [MAILBOXID (…)] CREATE completed
                C: l LIST "" "Caf*" RETURN (STATUS (MESSAGES HIGHESTMODSEQ MAILBOXID))
                S: * LIST (\\HasNoChildren) "/" "Café"
                S: * STATUS "Café" (MESSAGES 0 HIGHESTMODSEQ … MAILBOXID (…))
                S: l OK LIST completed
                C: s SELECT INBOX (QRESYNC (\(inbox.uidValidity) \(inbox.highestModseq)))
                S: * FLAGS (…)
                S: * OK [PERMANENTFLAGS (…)] …
                S: * 3 EXISTS
                S: * OK [UIDVALIDITY \(inbox.uidValidity)] UIDs valid
                S: * OK [UIDNEXT 4] Predicted next UID
                S: * OK [HIGHESTMODSEQ \(inbox.highestModseq)] Highest
                S: * OK [MAILBOXID (inbox)] Mailbox id
                S: * LIST () "/" INBOX
                S: s OK [READ-WRITE] SELECT completed
                C: t STORE 2 +FLAGS.SILENT (\\Deleted)
                S: * 2 FETCH (UID 2 MODSEQ (…))
                S: t OK STORE completed
                C: q SEARCH RETURN (MIN COUNT) MODSEQ \(inbox.highestModseq + 1)
                S: * ESEARCH (TAG "q") MIN 2 COUNT 1 MODSEQ …
                S: q OK SEARCH completed
                C: f FETCH 1:* (FLAGS EMAILID) (CHANGEDSINCE \(inbox.highestModseq))
                S: * 2 FETCH (FLAGS (\\Deleted) EMAILID (…) MODSEQ (…))
                S: f OK FETCH completed
                C: x EXPUNGE
                S: * VANISHED 2
                S: x OK [HIGHESTMODSEQ …] EXPUNGE completed
                C: r SEARCH YOUNGER 3600 NOT RECENT
                S: r BAD RECENT, NEW and OLD are not search keys of IMAP4rev2
                C: u UNAUTHENTICATE
                S: u OK UNAUTHENTICATE completed
                """)
            await client.close()
        }
    }
}

/// ACL (RFC 4314) for a mailbox with one user: the owner's rights are reported and fixed.
@Suite struct SessionACLTranscriptTests {
    @Test func theOwnerHasEveryRightAndCannotShareThem() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            let owner = account.email
            try await client.run("""
                C: c CREATE Projects
                S: c OK [MAILBOXID (…)] CREATE completed
                C: a GETACL Projects
                S: * ACL Projects \(owner) lrswipkxteacd
                S: a OK GETACL completed
                C: b MYRIGHTS INBOX
                S: * MYRIGHTS INBOX lrswipkteacd
                S: b OK MYRIGHTS completed
                C: d LISTRIGHTS Projects \(owner.uppercased())
                S: * LISTRIGHTS Projects \(owner.uppercased()) lrswipkxteacd
                S: d OK LISTRIGHTS completed
                C: e LISTRIGHTS Projects anyone
                S: * LISTRIGHTS Projects anyone ""
                S: e OK LISTRIGHTS completed
                C: f SETACL Projects anyone +r
                S: f NO [CANNOT] This mailbox has one user; rights cannot be given to anyone
                C: g SETACL Projects \(owner) -w
                S: g NO [CANNOT] The owner's rights are fixed
                C: h SETACL Projects \(owner) +lr
                S: h OK SETACL completed
                C: i SETACL INBOX \(owner) +c
                S: i NO [CANNOT] The owner's rights are fixed
                C: j DELETEACL Projects somebody
                S: j OK DELETEACL completed
                C: m SETACL INBOX \(owner) -x
                S: m OK SETACL completed
                C: n SETACL INBOX \(owner) +d
                S: n OK SETACL completed
                C: o LISTRIGHTS INBOX ""
                S: o BAD The identifier is empty
                C: k GETACL Nowhere
                S: k NO [NONEXISTENT] No such mailbox
                C: l SETACL Projects anyone lrQ
                S: l BAD …
                """)
            await client.close()
        }
    }
}

/// METADATA (RFC 5464): entries on the server and on mailboxes, shared by every node, carried by
/// RENAME and dropped by DELETE.
@Suite struct SessionMetadataTranscriptTests {
    @Test func entriesLiveInPostgresAndFollowTheirMailbox() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let first = try await nodes.login(account, node: 0)
            let second = try await nodes.login(account, node: 1)
            try await first.run("""
                C: c CREATE Projects
                S: c OK [MAILBOXID (…)] CREATE completed
                C: a SETMETADATA "" (/private/comment "My own comment" /shared/Vendor/x/y "1")
                S: a OK SETMETADATA completed
                C: b SETMETADATA Projects (/shared/comment {8+}
                C: two
                C: ok!)
                S: b OK SETMETADATA completed
                C: e SETMETADATA Projects (/private/blob ~{3+}
                C: a\u{0}b)
                S: e OK SETMETADATA completed
                """)
            try await second.run("""
                C: a GETMETADATA "" (/private/comment /shared/comment)
                S: * METADATA "" (/private/comment "My own comment" /shared/comment NIL)
                S: a OK GETMETADATA completed
                C: b GETMETADATA (DEPTH infinity) "" /shared
                S: * METADATA "" (/shared/vendor/x/y "1")
                S: b OK GETMETADATA completed
                C: c GETMETADATA (DEPTH 1) "" /shared/vendor
                S: c OK GETMETADATA completed
                """)
            try await second.run("""
                C: d GETMETADATA (MAXSIZE 3) Projects (/shared/comment /private/blob)
                S: * METADATA Projects (/private/blob ~{3}
                S: a\u{0}b)
                S: d OK [METADATA LONGENTRIES 8] GETMETADATA completed
                C: e RENAME Projects Work
                S: e OK RENAME completed
                C: f GETMETADATA Work /shared/comment
                S: * METADATA Work (/shared/comment {8}
                S: two
                S: ok!)
                S: f OK GETMETADATA completed
                C: g GETMETADATA Sent /private/specialuse
                S: * METADATA Sent (/private/specialuse "\\\\Sent")
                S: g OK GETMETADATA completed
                C: h SETMETADATA Sent (/private/specialuse "\\\\Junk")
                S: h NO [CANNOT] A mailbox's special use is set by the server
                C: i SETMETADATA Work (/shared/comment NIL)
                S: i OK SETMETADATA completed
                C: j GETMETADATA Work /shared/comment
                S: * METADATA Work (/shared/comment NIL)
                S: j OK GETMETADATA completed
                C: k SETMETADATA Nowhere (/shared/comment "x")
                S: k NO [NONEXISTENT] No such mailbox
                C: l SETMETADATA "" (/shared "x")
                S: l BAD /shared names a hierarchy, not an entry
                C: m SETMETADATA "" (/shared/big "\(String(repeating: "x", count: 16 * 1024 + 1))")
                S: m NO [METADATA MAXSIZE 16384] Value too long
                C: n DELETE Work
                S: n OK DELETE completed
                C: o CREATE Work
                S: o OK [MAILBOXID (…)] CREATE completed
                C: p GETMETADATA (DEPTH infinity) Work /private
                S: p OK GETMETADATA completed
                C: q SETMETADATA INBOX (/foo "1")
                S: q BAD …
                """)
            await first.close()
            await second.close()
        }
    }

    @Test func aGrantHoldsABoundedNumberOfEntries() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            let limit = IMAPSession.metadataEntryLimit
            let full = (0..<limit).map { MailboxAnnotation(name: "/private/n\($0)", value: [0x31]) }
            #expect(try await nodes.contexts[0].store.setAnnotations(grant: account.grant.id, folderID: nil, full, limit: limit))
            try await client.run("""
                C: a SETMETADATA INBOX (/private/one-more "1")
                S: a NO [METADATA TOOMANY] Too many metadata entries (at most \(limit))
                C: b GETMETADATA INBOX /private/one-more
                S: * METADATA INBOX (/private/one-more NIL)
                S: b OK GETMETADATA completed
                C: c SETMETADATA "" (/private/n0 "2" /private/n1 NIL)
                S: c OK SETMETADATA completed
                C: d SETMETADATA INBOX (/private/one-more "1")
                S: d OK SETMETADATA completed
                """)
            // A grant above a lowered limit may still remove entries, one at a time, but add none.
            let store = nodes.contexts[0].store
            #expect(try await store.setAnnotations(grant: account.grant.id, folderID: nil, [MailboxAnnotation(name: "/private/n2", value: nil)],
                                                   limit: limit - 10))
            #expect(try await !store.setAnnotations(grant: account.grant.id, folderID: nil, [MailboxAnnotation(name: "/private/x", value: [1])],
                                                    limit: limit - 10))
            await client.close()
        }
    }
}

/// SAVEDATE (RFC 8514): when a message came into the mailbox, whatever its internal date says.
@Suite struct SessionSaveDateTranscriptTests {
    @Test func theSaveDateIsWhenTheMessageArrivedInTheMailbox() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            let before = WallClock.unixSeconds()
            try await client.sendRaw("a APPEND INBOX \"01-Jan-2000 10:00:00 +0000\" {26+}\r\nSubject: old\r\n\r\nold mail\r\n\r\n")
            _ = try await client.readLine()
            let now = IMAPDateTime(secondsSince1970: before)
            try await client.run(selectInbox(exists: 1, recent: 1) + """
                C: f FETCH 1 (INTERNALDATE SAVEDATE)
                S: * 1 FETCH (INTERNALDATE " 1-Jan-2000 10:00:00 +0000" SAVEDATE "\(now.wire.prefix(11))…")
                S: f OK FETCH completed
                C: g SEARCH SAVEDON \(now.date.wire) BEFORE 2-Jan-2000
                S: * SEARCH 1
                S: g OK SEARCH completed
                C: h SEARCH SAVEDBEFORE \(now.date.wire)
                S: * SEARCH
                S: h OK SEARCH completed
                C: i SEARCH SAVEDSINCE 1-Jan-2000 SAVEDATESUPPORTED
                S: * SEARCH 1
                S: i OK SEARCH completed
                """)
            await client.close()
        }
    }
}

/// CREATE-SPECIAL-USE (RFC 6154 section 3): a custom mailbox created for a use carries it in LIST,
/// in its metadata and in the API; a use it cannot have creates nothing.
@Suite struct SessionCreateSpecialUseTranscriptTests {
    @Test func aMailboxCreatedForAUseShowsIt() async throws {
        try await IMAPTestNodes.with { nodes in
            let account = try await nodes.makeAccount()
            let client = try await nodes.login(account)
            try await client.run("""
                C: a CREATE "Old Mail" (USE (\\Archive))
                S: a OK [MAILBOXID (…)] CREATE completed
                C: b CREATE Everything (USE (\\All))
                S: b NO [USEATTR] \\All is not a use a mailbox can be created with
                C: c CREATE Two (USE (\\Sent \\Trash))
                S: c NO [USEATTR] A mailbox takes one special use
                C: d CREATE Plain (USE ())
                S: d OK [MAILBOXID (…)] CREATE completed
                C: e CREATE Odd (FOO)
                S: e BAD Unknown CREATE parameter FOO
                C: f LIST (SPECIAL-USE) "" *
                S: * LIST (\\HasNoChildren \\Sent) "/" Sent
                S: * LIST (\\HasNoChildren \\Drafts) "/" Drafts
                S: * LIST (\\HasNoChildren \\Trash) "/" Trash
                S: * LIST (\\HasNoChildren \\Junk) "/" Junk
                S: * LIST (\\HasNoChildren \\Archive) "/" Archive
                S: * LIST (\\HasNoChildren \\Archive) "/" "Old Mail"
                S: f OK LIST completed
                C: g GETMETADATA "Old Mail" /private/specialuse
                S: * METADATA "Old Mail" (/private/specialuse "\\\\Archive")
                S: g OK GETMETADATA completed
                C: h LIST "" (Everything Two Odd)
                S: h OK LIST completed
                """)
            let folders = try await nodes.contexts[0].store.folders(grant: account.grant.id)
            #expect(folders.first { $0.name == "Old Mail" }?.specialUse == "\\Archive")
            #expect(folders.first { $0.name == "Old Mail" }?.systemFolder == nil)
            #expect(folders.first { $0.name == "Plain" }?.specialUse == nil)
            await client.close()
        }
    }
}
