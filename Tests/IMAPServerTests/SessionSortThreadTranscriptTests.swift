@testable import IMAPServer
import Testing

/// SORT, ESORT and THREAD (RFC 5256, 5267, 5957) over the session, with mail added on another node
/// while the mailbox is selected.
@Suite struct SessionSortThreadTranscriptTests {
    static func message(_ id: String, subject: String, from: String, date: String, references: String? = nil) -> String {
        """
        From: \(from)
        To: Team <team@example.test>
        Subject: \(subject)
        Date: \(date)
        Message-ID: <\(id)@example.test>\(references.map { "\nReferences: \($0)" } ?? "")

        Body of \(id).
        """
    }

    @Test func sortAndThreadAnswerFromTheMailboxAsItIsNow() async throws {
        try await IMAPTestNodes.with(count: 2) { nodes in
            let account = try await nodes.makeAccount()
            let writer = try await nodes.login(account, node: 0)
            try await writer.append(Self.message("root", subject: "Plans", from: "Zoe <zoe@example.test>", date: "Tue, 01 Dec 2026 10:00:00 +0000"))
            try await writer.append(Self.message("other", subject: "[team] Lunch", from: "amy@example.test", date: "Tue, 01 Dec 2026 09:00:00 +0000"))
            try await writer.append(Self.message("reply", subject: "Re: Plans", from: "Bob <bob@example.test>",
                                                  date: "Tue, 01 Dec 2026 12:00:00 +0000", references: "<root@example.test>"))
            let reader = try await nodes.login(account, node: 1)
            try await reader.run(selectInbox(exists: 3, recent: 3) + """
                C: a SORT (SUBJECT) UTF-8 ALL
                S: * SORT 2 1 3
                S: a OK SORT completed
                C: b SORT (REVERSE DATE) US-ASCII ALL
                S: * SORT 3 1 2
                S: b OK SORT completed
                C: c UID SORT (FROM) UTF-8 NOT SUBJECT Lunch
                S: * SORT 3 1
                S: c OK UID SORT completed
                C: d SORT (DISPLAYFROM) UTF-8 ALL
                S: * SORT 2 3 1
                S: d OK SORT completed
                C: e THREAD REFERENCES UTF-8 ALL
                S: * THREAD (2)(1 3)
                S: e OK THREAD completed
                C: f SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL
                S: * ESEARCH (TAG "f") MIN 2 MAX 3 ALL 2,1,3 COUNT 3
                S: f OK SORT completed
                """)
            // Another node's new reply, once the session knows of it (CHECK reads the change log
            // whatever the announcements, so the test waits on no timing), is counted.
            try await writer.append(Self.message("reply2", subject: "RE: plans", from: "cy@example.test",
                                                  date: "Tue, 01 Dec 2026 11:00:00 +0000", references: "<root@example.test>"))
            try await reader.run("""
                C: p CHECK
                S: * 4 EXISTS
                S: * 4 RECENT
                S: p OK CHECK completed
                C: g THREAD REFERENCES UTF-8 ALL
                S: * THREAD (2)(1 (4)(3))
                S: g OK THREAD completed
                C: h UID THREAD ORDEREDSUBJECT UTF-8 ALL
                S: * THREAD (2)(1 (4)(3))
                S: h OK UID THREAD completed
                C: i SORT (DATE) UTF-8 MODSEQ 1
                S: * OK [HIGHESTMODSEQ …] Highest
                S: * SORT 2 1 4 3 (MODSEQ …)
                S: i OK SORT completed
                C: j SORT (SUBJECT) KOI8-R ALL
                S: j NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
                C: k THREAD REFERENCES ALL
                S: k BAD …
                C: l SORT (ARRIVAL) UTF-8 SUBJECT nothing-like-this
                S: * SORT
                S: l OK SORT completed
                C: m THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing-like-this
                S: * THREAD
                S: m OK THREAD completed
                C: u UNSELECT
                S: u OK UNSELECT completed
                C: n SORT (ARRIVAL) UTF-8 ALL
                S: n BAD …
                """)
            await writer.close()
            await reader.close()
        }
    }
}
