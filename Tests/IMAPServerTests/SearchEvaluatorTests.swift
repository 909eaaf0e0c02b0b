import IMAPGrammar
import MIME
import MailCore
import Testing

@testable import MailSearch

/// Three messages of one mailbox; every key of the table runs against all three.
///
/// Messages 10 and 20 are `\Recent` in the searching session.
///
/// | seq | uid | internal date (UTC)  | Date header           | flags                       | size | modseq |
/// |-----|-----|----------------------|-----------------------|-----------------------------|------|--------|
/// | 1   | 10  | 2023-01-03 00:00:00  | 2023-01-02 23:30 +0000 | \Seen \Flagged $Forwarded  | 1000 | 5      |
/// | 2   | 20  | 2023-01-02 23:59:59  | 2023-01-03 00:00 +0000 | \Answered \Deleted         | 2000 | 12     |
/// | 3   | 35  | 2023-01-04 12:00:00  | none                   | \Draft                     | 3000 | 20     |
enum SearchFixtures {
    /// Encoded-word subject, custom encoded header, base64 UTF-8 text body.
    static let first = message("""
        Date: Mon, 2 Jan 2023 23:30:00 +0000
        From: Alice Example <alice@example.com>
        To: bob@example.org
        Cc: Carol <carol@example.net>
        Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=
        Message-ID: <one@example.com>
        X-Tracker: Ticket =?ISO-8859-1?Q?N=FCmmer?= 42
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: base64

        RGVyIELDpHIgc2NobMOkZnQgaW0gV2ludGVyLg0KQmlzIGJhbGQhDQo=

        """)

    /// multipart/alternative: quoted-printable text with a soft line break, and HTML.
    static let second = message("""
        Date: Tue, 3 Jan 2023 00:00:00 +0000
        From: bob@example.org
        To: Alice Example <alice@example.com>
        Bcc: dave@example.net
        Subject: Re: Quarterly report
        In-Reply-To: <one@example.com>
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="alt"

        --alt
        Content-Type: text/plain; charset=iso-8859-1
        Content-Transfer-Encoding: quoted-printable

        The quarterly num=
        bers are in. Gr=FC=DFe.
        --alt
        Content-Type: text/html; charset=utf-8

        <div class="note"><p>The <b>quarterly</b> numbers &amp; more</p></div>
        --alt--

        """)

    /// No Subject, no Date; a forwarded message and a PDF attachment.
    static let third = message("""
        From: Erin <erin@example.com>
        To: alice@example.com
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="mix"

        --mix
        Content-Type: text/plain

        See attached.
        --mix
        Content-Type: message/rfc822

        From: inner@example.net
        Subject: Inner
        X-Inner: yes

        The nested secret.
        --mix
        Content-Type: application/pdf
        Content-Transfer-Encoding: base64

        JVBERi0xLjQgY29uZmlkZW50aWFs
        --mix--

        """)

    static let candidates: [SearchCandidate] = [
        candidate(1, uid: 10, first, flags: ["\\Seen", "\\Flagged", "$Forwarded"],
                  internalDate: 1_672_704_000, size: 1000, modseq: 5, recent: true),
        candidate(2, uid: 20, second, flags: ["\\Answered", "\\Deleted"],
                  internalDate: 1_672_703_999, size: 2000, modseq: 12, recent: true),
        candidate(3, uid: 35, third, flags: ["\\Draft"],
                  internalDate: 1_672_833_600, size: 3000, modseq: 20),
    ]

    static let evaluator = SearchEvaluator(largestSequenceNumber: 3, largestUID: 35, savedResult: [10, 35])

    /// The UIDs of the fixture messages `key` matches, each given its raw bytes only when the
    /// evaluator asks for them.
    static func matchingUIDs(_ key: SearchKey, evaluator: SearchEvaluator = evaluator) -> [UInt32] {
        let needsRaw = SearchEvaluator.needsRaw(key)
        return candidates.filter { candidate in
            var candidate = candidate
            if !needsRaw { candidate.raw = nil }
            return evaluator.matches(key, candidate)
        }.map(\.uid)
    }

    /// A message from a Swift literal: line breaks become CRLF.
    static func message(_ text: String) -> [UInt8] {
        Array(text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)
    }

    static func candidate(_ sequence: UInt32, uid: UInt32, _ raw: [UInt8], flags: MessageFlags,
                          internalDate: Int64, size: Int64, modseq: Int64, recent: Bool = false) -> SearchCandidate {
        SearchCandidate(sequenceNumber: sequence, uid: uid, flags: flags, internalDate: internalDate,
                        size: size, modseq: modseq, facts: facts(raw), raw: raw, recent: recent)
    }

    /// The facts the store would keep, from the MIME parser (what delivery and APPEND compute).
    static func facts(_ raw: [UInt8]) -> MessageFacts {
        MessageFacts(parsing: MIMEMessage(parsing: raw))
    }
}

struct SearchCase: Sendable, CustomTestStringConvertible {
    var key: SearchKey
    var uids: [UInt32]
    var note: String

    init(_ key: SearchKey, _ uids: [UInt32], _ note: String = "") {
        self.key = key
        self.uids = uids
        self.note = note
    }

    var testDescription: String { note.isEmpty ? "\(key)" : "\(note): \(key)" }
}

private func date(_ day: Int, _ month: Int, _ year: Int) -> IMAPDate {
    IMAPDate(year: year, month: month, day: day)
}

private func range(_ first: SequenceNumber, _ second: SequenceNumber) -> SequenceRange {
    SequenceRange(first, second)
}

@Suite struct SearchEvaluatorTests {
    static let flagCases: [SearchCase] = [
        SearchCase(.all, [10, 20, 35]),
        SearchCase(.seen, [10]), SearchCase(.unseen, [20, 35]),
        SearchCase(.flagged, [10]), SearchCase(.unflagged, [20, 35]),
        SearchCase(.answered, [20]), SearchCase(.unanswered, [10, 35]),
        SearchCase(.deleted, [20]), SearchCase(.undeleted, [10, 35]),
        SearchCase(.draft, [35]), SearchCase(.undraft, [10, 20]),
        SearchCase(.recent, [10, 20], "\\Recent as the session sees it"),
        SearchCase(.new, [20], "NEW is RECENT UNSEEN"),
        SearchCase(.old, [35], "OLD is NOT RECENT"),
        SearchCase(.keyword("$forwarded"), [10], "keywords ignore case"),
        SearchCase(.keyword("$Junk"), []),
        SearchCase(.unkeyword("$Forwarded"), [20, 35]),
    ]

    static let stringCases: [SearchCase] = [
        SearchCase(.subject("grüße"), [10], "RFC 2047 B-encoded subject, case folded"),
        SearchCase(.subject("KÖLN"), [10]),
        SearchCase(.subject("quarterly REPORT"), [20]),
        SearchCase(.subject(""), [10, 20], "empty string: messages that have a subject"),
        SearchCase(.from("alice"), [10]),
        SearchCase(.from("Alice Example <alice@"), [10], "Name <email> form"),
        SearchCase(.from("bob@example.org"), [20], "address without a name"),
        SearchCase(.from("inner@"), [], "a forwarded message's From is not the envelope's"),
        SearchCase(.to("alice@example.com"), [20, 35]),
        SearchCase(.cc("carol <carol"), [10]),
        SearchCase(.bcc("dave"), [20]),
        SearchCase(.bcc(""), [20]),
        SearchCase(.header("X-Tracker", "nümmer 42"), [10], "custom header, encoded word decoded"),
        SearchCase(.header("x-tracker", ""), [10], "empty string: messages that have the field"),
        SearchCase(.header("X-Missing", ""), []),
        SearchCase(.header("X-Inner", ""), [], "a nested message's header is not the message's"),
        SearchCase(.header("Message-ID", "<one@example.com>"), [10], "ids match in their <id> form"),
        SearchCase(.header("In-Reply-To", "one@example"), [20]),
        SearchCase(.header("SUBJECT", "re: quarterly"), [20]),
        SearchCase(.header("From", "erin"), [35]),
        SearchCase(.header("Cc", "carol <carol@example.net"), [10], "an address field's text as written"),
        SearchCase(.header("To", "bob@example.org, "), [], "punctuation the field does not have"),
        SearchCase(.header("Subject", "grüße aus"), [10], "encoded words decoded"),
        SearchCase(.body("bär schläft"), [10], "base64 UTF-8 body"),
        SearchCase(.body("BÄR"), [10]),
        SearchCase(.body("quarterly numbers are"), [20], "quoted-printable soft break joined"),
        SearchCase(.body("grüße"), [20], "ISO-8859-1 body converted"),
        SearchCase(.body("numbers & more"), [20], "HTML entities decoded"),
        SearchCase(.body("class=\"note\""), [20], "HTML is also read as written: markup is in the body"),
        SearchCase(.body("&amp;"), [20], "entities as written"),
        SearchCase(.body("quarterly numbers &"), [20], "and as the reader sees it, tags joined"),
        SearchCase(.body("nested secret"), [35], "text of a forwarded message"),
        SearchCase(.body("x-inner: yes"), [35], "header of a forwarded message is body text"),
        SearchCase(.body("confidential"), [], "non-text parts are not searched"),
        SearchCase(.body("alice"), [], "BODY does not read the header"),
        SearchCase(.body(""), [10, 20, 35]),
        SearchCase(.text("alice"), [10, 20, 35], "TEXT reads the header"),
        SearchCase(.text("winter"), [10], "and the body"),
        SearchCase(.text("ticket nümmer"), [10], "decoded header values"),
        SearchCase(.text("JVBERi0"), [], "not the encoded attachment"),
    ]

    static let dateCases: [SearchCase] = [
        SearchCase(.on(date(3, 1, 2023)), [10], "00:00:00 is the new day"),
        SearchCase(.on(date(2, 1, 2023)), [20], "23:59:59 is still the old day"),
        SearchCase(.before(date(3, 1, 2023)), [20]),
        SearchCase(.before(date(2, 1, 2023)), []),
        SearchCase(.since(date(3, 1, 2023)), [10, 35]),
        SearchCase(.since(date(2, 1, 2023)), [10, 20, 35]),
        SearchCase(.since(date(5, 1, 2023)), []),
        SearchCase(.sentOn(date(2, 1, 2023)), [10]),
        SearchCase(.sentOn(date(3, 1, 2023)), [20]),
        SearchCase(.sentOn(date(4, 1, 2023)), [], "no Date header: no sent date"),
        SearchCase(.sentBefore(date(3, 1, 2023)), [10]),
        SearchCase(.sentSince(date(3, 1, 2023)), [20]),
        SearchCase(.not(.sentBefore(date(3, 1, 2023))), [20, 35]),
        SearchCase(.sentSince(date(1, 2, 2023)), []),
    ]

    static let numberCases: [SearchCase] = [
        SearchCase(.larger(2000), [35], "strictly larger"),
        SearchCase(.larger(999), [10, 20, 35]),
        SearchCase(.smaller(2000), [10], "strictly smaller"),
        SearchCase(.smaller(0), []),
        SearchCase(.larger(UInt64.max), []),
        SearchCase(.sequenceSet(SequenceSet(2)), [20]),
        SearchCase(.sequenceSet(SequenceSet(1, 3)), [10, 35]),
        SearchCase(.sequenceSet(SequenceSet([range(.number(2), .last)])), [20, 35], "2:*"),
        SearchCase(.sequenceSet(SequenceSet([range(.last, .number(2))])), [20, 35], "*:2"),
        SearchCase(.sequenceSet(SequenceSet([range(.last, .last)])), [35], "*"),
        SearchCase(.sequenceSet(SequenceSet([range(.number(4), .number(9))])), [], "past the end"),
        SearchCase(.uid(SequenceSet([range(.number(20), .last)])), [20, 35], "UID 20:*"),
        SearchCase(.uid(SequenceSet([range(.number(36), .last)])), [35], "UID 36:* is 35:36"),
        SearchCase(.uid(SequenceSet([range(.number(1), .number(15))])), [10]),
        SearchCase(.uid(SequenceSet(3)), [], "UID sets hold UIDs, not sequence numbers"),
        SearchCase(.uid(.lastCommand), [10, 35], "$"),
        SearchCase(.sequenceSet(.lastCommand), [10, 35], "$ as a sequence set"),
        SearchCase(.modSeq(SearchModSeq(modSeq: 12)), [20, 35], "MODSEQ is >="),
        SearchCase(.modSeq(SearchModSeq(entry: .init(flag: .seen, type: .all), modSeq: 21)), []),
        SearchCase(.modSeq(SearchModSeq(modSeq: 0)), [10, 20, 35]),
    ]

    static let combinationCases: [SearchCase] = [
        SearchCase(.not(.seen), [20, 35]),
        SearchCase(.not(.not(.seen)), [10]),
        SearchCase(.or(.seen, .draft), [10, 35]),
        SearchCase(.or(.body("nested"), .seen), [10, 35], "text key second in order of evaluation"),
        SearchCase(.or(.not(.from("alice")), .body("bär")), [10, 20, 35]),
        SearchCase(.and([]), [10, 20, 35]),
        SearchCase(.and([.undeleted, .or(.subject("grüße"), .header("X-Tracker", ""))]), [10]),
        SearchCase(.and([.body("quarterly"), .deleted]), [20]),
        SearchCase(.and([.body("quarterly"), .undeleted]), []),
        SearchCase(.not(.or(.uid(SequenceSet(10)), .and([.draft, .since(date(4, 1, 2023))]))), [20]),
        SearchCase(.or(.or(.keyword("$Forwarded"), .header("x-inner", "")), .not(.text("nested"))),
                   [10, 20], "nested OR with text keys"),
        SearchCase(.and([.sequenceSet(SequenceSet([range(.number(1), .last)])), .not(.uid(.lastCommand))]), [20]),
    ]

    @Test(arguments: flagCases) func flags(_ test: SearchCase) {
        #expect(SearchFixtures.matchingUIDs(test.key) == test.uids)
    }

    @Test(arguments: stringCases) func strings(_ test: SearchCase) {
        #expect(SearchFixtures.matchingUIDs(test.key) == test.uids)
    }

    @Test(arguments: dateCases) func dates(_ test: SearchCase) {
        #expect(SearchFixtures.matchingUIDs(test.key) == test.uids)
    }

    @Test(arguments: numberCases) func numbersAndSets(_ test: SearchCase) {
        #expect(SearchFixtures.matchingUIDs(test.key) == test.uids)
    }

    @Test(arguments: combinationCases) func combinations(_ test: SearchCase) {
        #expect(SearchFixtures.matchingUIDs(test.key) == test.uids)
    }

    @Test func savedResultAbsentIsEmpty() {
        let evaluator = SearchEvaluator(largestSequenceNumber: 3, largestUID: 35)
        #expect(SearchFixtures.matchingUIDs(.uid(.lastCommand), evaluator: evaluator) == [])
        #expect(SearchFixtures.matchingUIDs(.not(.sequenceSet(.lastCommand)), evaluator: evaluator) == [10, 20, 35])
    }

    /// RFC 5032: OLDER and YOUNGER count seconds back from the search, on the internal date
    /// (UID 10 arrived at 1_672_704_000, UID 20 a second earlier, UID 35 at 1_672_833_600).
    @Test(arguments: [
        (SearchKey.younger(100), [35]), (.younger(129_600), [10, 35]), (.younger(129_601), [10, 20, 35]),
        (.older(129_600), [20]), (.older(100), [10, 20]), (.older(1), [10, 20]), (.younger(1), [35]),
        (.not(.older(129_600)), [10, 35]),
    ] as [(SearchKey, [UInt32])])
    func withinCountsBackFromTheSearch(_ key: SearchKey, _ uids: [UInt32]) {
        let evaluator = SearchEvaluator(largestSequenceNumber: 3, largestUID: 35, now: 1_672_833_600)
        #expect(SearchFixtures.matchingUIDs(key, evaluator: evaluator) == uids)
    }

    @Test func emptyMailboxStar() {
        let evaluator = SearchEvaluator(largestSequenceNumber: 0, largestUID: 0)
        #expect(SearchFixtures.matchingUIDs(.sequenceSet(SequenceSet([range(.last, .last)])), evaluator: evaluator) == [])
    }

    @Test func textKeysWithoutRawMatchNothing() {
        var candidate = SearchFixtures.candidates[0]
        candidate.raw = nil
        let evaluator = SearchFixtures.evaluator
        #expect(!evaluator.matches(.body("bär"), candidate))
        #expect(!evaluator.matches(.text(""), candidate))
        #expect(!evaluator.matches(.header("X-Tracker", ""), candidate))
        #expect(evaluator.matches(.not(.body("bär")), candidate))
        #expect(evaluator.matches(.header("Subject", "köln"), candidate), "fields in the facts need no raw")
        #expect(!evaluator.matches(.header("Cc", "carol"), candidate), "address fields are read as written")
    }

    static let needsRawCases: [(SearchKey, Bool)] = [
        (.all, false), (.subject("x"), false), (.from("x"), false), (.since(date(1, 1, 2020)), false),
        (.body("x"), true), (.text("x"), true),
        (.header("X-Custom", "x"), true), (.header("Subject", "x"), false), (.header("message-id", ""), true),
        (.header("To", "x"), true),
        (.header("Date", "x"), true),
        (.not(.body("x")), true), (.or(.seen, .text("x")), true), (.or(.seen, .draft), false),
        (.and([.seen, .and([.header("List-Id", "")])]), true), (.and([]), false),
        (.uid(.lastCommand), false), (.modSeq(SearchModSeq(modSeq: 1)), false),
    ]

    /// One message on its own, raw bytes given only when the evaluator asks for them.
    static func matches(_ key: SearchKey, _ text: String) -> Bool {
        let raw = SearchFixtures.message(text)
        var candidate = SearchFixtures.candidate(1, uid: 1, raw, flags: [], internalDate: 1_700_000_000, size: 100, modseq: 1)
        if !SearchEvaluator.needsRaw(key) { candidate.raw = nil }
        return SearchFixtures.evaluator.matches(key, candidate)
    }

    /// RFC 3501 6.4.4: SENT* compare the date as written in the Date header, time and zone disregarded.
    static let writtenDateCases: [(SearchKey, String, Bool)] = [
        (.sentOn(date(2, 1, 2023)), "Mon, 2 Jan 2023 23:30:00 -0500", true),  // 3 Jan in UTC
        (.sentOn(date(3, 1, 2023)), "Mon, 2 Jan 2023 23:30:00 -0500", false),
        (.sentBefore(date(3, 1, 2023)), "Mon, 2 Jan 2023 23:30:00 -0500", true),
        (.sentSince(date(3, 1, 2023)), "Mon, 2 Jan 2023 23:30:00 -0500", false),
        (.sentOn(date(3, 1, 2023)), "Tue, 3 Jan 2023 01:00:00 +0200", true),  // 2 Jan in UTC
        (.sentSince(date(3, 1, 2023)), "Tue, 3 Jan 2023 01:00:00 +0200", true),
        (.sentBefore(date(3, 1, 2023)), "Tue, 3 Jan 2023 01:00:00 +0200", false),
    ]

    @Test(arguments: writtenDateCases) func sentDatesAreTheDaysAsWritten(_ key: SearchKey, _ written: String, _ expected: Bool) {
        #expect(Self.matches(key, "Date: \(written)\nFrom: a@example.com\nSubject: s\n\nbody\n") == expected)
    }

    /// FROM, TO, CC and BCC read the envelope's fields: display names, addresses and group names.
    static let addressCases: [(SearchKey, Bool)] = [
        (.to("project team"), true), (.to("TEAM:"), true), (.to("carol"), true), (.to("c@d.example"), true),
        (.to("a@b.example"), true), (.to("nobody"), false), (.cc("helpers"), true), (.bcc("x"), false),
        (.from("Alice Example"), true), (.from("alice example <alice@"), true), (.from("example.com"), true),
        (.header("To", "project team"), true), (.header("Cc", "helpers"), true),
    ]

    @Test(arguments: addressCases) func addressesMatchNamesAddressesAndGroups(_ key: SearchKey, _ expected: Bool) {
        let message = """
            From: Alice Example <alice@example.com>
            To: Project Team: a@b.example, Carol <c@d.example>;
            Cc: helpers:;
            Subject: plans

            body

            """
        #expect(Self.matches(key, message) == expected)
    }

    /// RFC 3501 6.4.4: HEADER with an empty string matches every message that has the field at all.
    static let emptyHeaderCases: [(String, Bool)] = [
        ("Subject", true), ("To", true), ("Cc", true), ("X-Empty", true), ("Bcc", false), ("Reply-To", false),
        ("Message-ID", false), ("In-Reply-To", false), ("References", false), ("X-Missing", false),
    ]

    @Test(arguments: emptyHeaderCases) func emptyHeaderStringMatchesPresence(_ field: String, _ expected: Bool) {
        let message = "From: a@example.com\nTo: undisclosed-recipients:;\nCc:\nSubject:\nX-Empty:\n\nbody\n"
        #expect(Self.matches(.header(field, ""), message) == expected)
    }

    @Test(arguments: needsRawCases) func needsRaw(_ key: SearchKey, _ expected: Bool) {
        #expect(SearchEvaluator.needsRaw(key) == expected)
    }

    static let charsetCases: [(String, Bool)] = [
        ("UTF-8", true), ("utf-8", true), ("US-ASCII", true), ("us-ascii", true), ("UTF8", true),
        ("ISO-8859-1", false), ("UTF-16", false), ("", false), ("KOI8-R", false),
    ]

    @Test(arguments: charsetCases) func charsets(_ name: String, _ supported: Bool) {
        #expect(SearchEvaluator.isSupportedCharset(name) == supported)
    }

    static let dayCases: [(Int64, IMAPDate)] = [
        (0, date(1, 1, 1970)),
        (86_399, date(1, 1, 1970)),
        (86_400, date(2, 1, 1970)),
        (-1, date(31, 12, 1969)),
        (-86_400, date(31, 12, 1969)),
        (-86_401, date(30, 12, 1969)),
        (951_782_400, date(29, 2, 2000)),
        (1_709_251_199, date(29, 2, 2024)),
        (1_709_251_200, date(1, 3, 2024)),
        (4_102_444_800, date(1, 1, 2100)),
    ]

    @Test(arguments: dayCases) func days(_ seconds: Int64, _ day: IMAPDate) {
        #expect(SearchDay(seconds: seconds) == SearchDay(day))
    }

    static let substringCases: [(String, String, Bool)] = [
        ("hello world", "o w", true), ("hello", "", true), ("", "a", false),
        ("aaab", "aab", true), ("abababc", "ababc", true), ("ababab", "ababc", false),
        ("grüße", "üß", true), ("short", "longer than text", false), ("x", "x", true),
    ]

    @Test(arguments: substringCases) func substrings(_ text: String, _ pattern: String, _ expected: Bool) {
        #expect(SearchSubstring.contains(text, pattern) == expected)
    }
}
