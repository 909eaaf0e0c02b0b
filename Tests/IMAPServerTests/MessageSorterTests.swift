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
}

struct MessageSorterTests {
    let messages = [
        OrderingFixtures.message(1, subject: "Re: beta", from: Participant(name: "Zoe", email: "ann@x.test"),
                                 to: Participant(email: "Carl@y.test"), sent: 300, arrival: 20, size: 500),
        OrderingFixtures.message(2, subject: "alpha", from: Participant(name: nil, email: "bob@x.test"),
                                 to: Participant(name: "Amy", email: "zed@y.test"), cc: Participant(email: "b@c"), sent: nil, arrival: 10, size: 100),
        OrderingFixtures.message(3, subject: "[list] Beta", from: Participant(name: "  ", email: "ANN@w.test"),
                                 sent: 200, arrival: 30, size: 100),
        OrderingFixtures.message(4, subject: nil, sent: 100, arrival: 40, size: 900),
    ]

    func order(_ criteria: [MessageSorter.SortCriterionKey]) -> [UInt32] {
        MessageSorter(criteria).sorted(messages).map(\.sequenceNumber)
    }

    @Test func arrivalAndSize() {
        #expect(order([.init(.arrival)]) == [2, 1, 3, 4])
        #expect(order([.init(.arrival, reverse: true)]) == [4, 3, 1, 2])
        // Equal sizes keep mailbox order; REVERSE turns only its own key.
        #expect(order([.init(.size)]) == [2, 3, 1, 4])
        #expect(order([.init(.size, reverse: true)]) == [4, 1, 2, 3])
    }

    @Test("DATE is the sent date, the internal date standing in when there is none (RFC 5256 2.2)")
    func date() {
        #expect(order([.init(.date)]) == [2, 4, 3, 1])
    }

    @Test("SUBJECT sorts by base subject, case-insensitively")
    func subject() {
        // "" (no subject) < "alpha" < "beta" (1) = "Beta" (3, same base subject, mailbox order).
        #expect(order([.init(.subject)]) == [4, 2, 1, 3])
        #expect(order([.init(.subject), .init(.date, reverse: true)]) == [4, 2, 1, 3])
        #expect(order([.init(.subject), .init(.date)]) == [4, 2, 3, 1])
    }

    @Test("FROM, TO and CC sort by the first address's mailbox part; a missing one is empty and first")
    func addresses() {
        #expect(order([.init(.from)]) == [4, 1, 3, 2])
        #expect(order([.init(.to)]) == [3, 4, 1, 2])
        #expect(order([.init(.cc)]) == [1, 3, 4, 2])
        #expect(order([.init(.from), .init(.arrival, reverse: true)]) == [4, 3, 1, 2])
    }

    @Test("DISPLAYFROM and DISPLAYTO sort by display name, else the address (RFC 5957)")
    func display() {
        // Zoe, bob@x.test, ANN@w.test (blank name), "".
        #expect(order([.init(.displayFrom)]) == [4, 3, 2, 1])
        // Carl@y.test, Amy, "", "".
        #expect(order([.init(.displayTo)]) == [3, 4, 2, 1])
    }
}
