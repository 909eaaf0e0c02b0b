import MailCore
import Testing

@testable import MailSearch

/// Messages for SORT and THREAD tests: facts written directly, sequence numbers from 1.
enum OrderingFixtures {
    static func message(_ sequence: UInt32, uid: UInt32? = nil, subject: String? = nil, from: Participant? = nil,
                        to: Participant? = nil, cc: Participant? = nil, sent: Int64? = nil, arrival: Int64 = 0, size: Int64 = 100,
                        id: String? = nil, references: [String] = [], inReplyTo: [String] = []) -> SearchCandidate {
        let facts = MessageFacts(messageIDHeader: id, inReplyTo: inReplyTo, references: references, subject: subject,
                                 from: from.map { [$0] } ?? [], to: to.map { [$0] } ?? [], cc: cc.map { [$0] } ?? [], sentDate: sent)
        return SearchCandidate(sequenceNumber: sequence, uid: uid ?? sequence * 10, flags: [], internalDate: arrival, size: size,
                               modseq: 1, facts: facts, raw: nil)
    }

    /// A message whose facts come from the MIME reader, as the store keeps them: `headers` are
    /// header lines separated by `\n`.
    static func parsed(_ sequence: UInt32, _ headers: String, arrival: Int64 = 0, size: Int64 = 100) -> SearchCandidate {
        let raw = SearchFixtures.message(headers + "\n\nbody\n")
        return SearchCandidate(sequenceNumber: sequence, uid: sequence, flags: [], internalDate: arrival, size: size,
                               modseq: 1, facts: SearchFixtures.facts(raw), raw: nil)
    }
}

struct MessageSorterTests {
    let messages = [
        OrderingFixtures.parsed(1, "Subject: Re: beta\nFrom: Zoe <ann@x.test>\nTo: Carl@y.test\nDate: Thu, 01 Jan 1970 00:05:00 +0000",
                                arrival: 20, size: 500),
        OrderingFixtures.parsed(2, "Subject: alpha\nFrom: bob@x.test\nTo: Amy <zed@y.test>\nCc: b@c", arrival: 10, size: 100),
        OrderingFixtures.parsed(3, "Subject: [list] Beta\nFrom: \"  \" <ANN@w.test>\nDate: Thu, 01 Jan 1970 01:03:20 +0100",
                                arrival: 30, size: 100),
        OrderingFixtures.parsed(4, "Date: Thu, 01 Jan 1970 00:01:40 +0000", arrival: 40, size: 900),
    ]

    func order(_ criteria: [MessageSorter.SortCriterionKey], _ messages: [SearchCandidate]? = nil) -> [UInt32] {
        MessageSorter(criteria).sorted(messages ?? self.messages).map(\.sequenceNumber)
    }

    @Test func arrivalAndSize() {
        #expect(order([.init(.arrival)]) == [2, 1, 3, 4])
        #expect(order([.init(.arrival, reverse: true)]) == [4, 3, 1, 2])
        // Equal sizes keep mailbox order; REVERSE turns only its own key.
        #expect(order([.init(.size)]) == [2, 3, 1, 4])
        #expect(order([.init(.size, reverse: true)]) == [4, 1, 2, 3])
    }

    @Test("DATE is the sent date in UTC, the internal date standing in when there is none (RFC 5256 2.2)")
    func date() {
        // 2: none, so arrival 10; 4: 100; 3: 200 (01:03:20 at +0100); 1: 300.
        #expect(order([.init(.date)]) == [2, 4, 3, 1])
    }

    @Test("SUBJECT sorts by base subject, case-insensitively")
    func subject() {
        // "" (no subject) < "alpha" < "beta" (1) = "Beta" (3, same base subject, mailbox order).
        #expect(order([.init(.subject)]) == [4, 2, 1, 3])
        #expect(order([.init(.subject), .init(.date, reverse: true)]) == [4, 2, 1, 3])
        #expect(order([.init(.subject), .init(.date)]) == [4, 2, 3, 1])
    }

    @Test("FROM, TO and CC sort by the first envelope address's mailbox; a missing one is empty and first")
    func addresses() {
        #expect(order([.init(.from)]) == [4, 1, 3, 2])
        #expect(order([.init(.to)]) == [3, 4, 1, 2])
        #expect(order([.init(.cc)]) == [1, 3, 4, 2])
        #expect(order([.init(.from), .init(.arrival, reverse: true)]) == [4, 3, 1, 2])
    }

    @Test("DISPLAYFROM and DISPLAYTO sort by display name, else mailbox@host (RFC 5957 section 3)")
    func display() {
        // Zoe, bob@x.test, ANN@w.test (blank name), "".
        #expect(order([.init(.displayFrom)]) == [4, 3, 2, 1])
        // Carl@y.test, Amy, "", "".
        #expect(order([.init(.displayTo)]) == [3, 4, 2, 1])
    }

    @Test("a group's name is its first address; a quoted local part sorts unquoted")
    func groupsAndQuoting() {
        let messages = [
            OrderingFixtures.parsed(1, "From: \"z z\"@x.test\nTo: Team: a@x.test, b@x.test;"),
            OrderingFixtures.parsed(2, "From: a@x.test\nTo: undisclosed-recipients:;"),
            OrderingFixtures.parsed(3, "From: m@x.test\nTo: Bob <b@x.test>"),
        ]
        #expect(order([.init(.from)], messages) == [2, 3, 1])
        // "b", "Team", "undisclosed-recipients".
        #expect(order([.init(.to)], messages) == [3, 1, 2])
        // "Bob", "Team", "undisclosed-recipients".
        #expect(order([.init(.displayTo)], messages) == [3, 1, 2])
    }

    @Test("strings collate as i;unicode-casemap: titlecase, then compatibility decomposition (RFC 5051)")
    func collation() {
        #expect(MessageSorter.collationKey("éclair").lexicographicallyPrecedes(MessageSorter.collationKey("fig")))
        #expect(MessageSorter.collationKey("Cafe\u{301}") == MessageSorter.collationKey("CAFÉ"))
        #expect(MessageSorter.collationKey("ﬁle") == MessageSorter.collationKey("FILE"))
        #expect(MessageSorter.collationKey("Straße") != MessageSorter.collationKey("STRASSE"))
        #expect(MessageSorter.collationKey("abc") == MessageSorter.collationKey("ABC"))
    }
}
