import IMAPGrammar
import MailCore
import NIOCore
import Testing

@testable import MailSearch

/// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 section 3), written out as the wire
/// form so the trees read like the RFC's examples.
struct MessageThreaderTests {
    typealias M = OrderingFixtures

    func wire(_ threads: [ThreadNode]) -> String {
        var buffer = ByteBuffer()
        ResponseEncoder().encode(.untagged(.thread(threads)), into: &buffer)
        return String(decoding: buffer.readableBytesView, as: UTF8.self).replacingOccurrences("* THREAD", "").trimmingCharacters()
    }

    func references(_ messages: [SearchCandidate], byUID: Bool = false) -> String {
        wire(MessageThreader(byUID: byUID).references(messages))
    }

    @Test("ORDEREDSUBJECT: one thread per base subject, replies flat under the first, threads by date")
    func orderedSubject() {
        let messages = [
            M.message(1, subject: "b", sent: 50),
            M.message(2, subject: "Re: a", sent: 30),
            M.message(3, subject: "a", sent: 20),
            M.message(4, subject: "RE: A", sent: 40),
            M.message(5, subject: "Re: b", sent: 60),
            M.message(6, subject: "[x] a", sent: 35),
            M.message(7, subject: "c", sent: 10),
        ]
        #expect(wire(MessageThreader(byUID: false).orderedSubject(messages)) == "(7)(3 (2)(6)(4))(1 5)")
        #expect(wire(MessageThreader(byUID: true).orderedSubject(messages)) == "(70)(30 (20)(60)(40))(10 50)")
    }

    @Test("REFERENCES: a References chain is one branch")
    func chain() {
        let messages = [
            M.message(1, subject: "x", sent: 1, id: "a@h"),
            M.message(2, subject: "Re: x", sent: 2, id: "b@h", references: ["a@h"]),
            M.message(3, subject: "Re: x", sent: 3, id: "c@h", references: ["a@h", "b@h"]),
            M.message(4, subject: "Re: x", sent: 4, id: "d@h", references: ["a@h"]),
        ]
        #expect(references(messages) == "(1 (2 3)(4))")
    }

    @Test("REFERENCES: In-Reply-To stands in for a missing References header")
    func inReplyTo() {
        let messages = [
            M.message(1, subject: "one", sent: 1, id: "a@h"),
            M.message(2, subject: "two", sent: 2, id: "b@h", inReplyTo: ["a@h"]),
        ]
        #expect(references(messages) == "(1 2)")
    }

    @Test("REFERENCES: a missing parent stays as a placeholder at the root only with several children")
    func placeholders() {
        let two = [
            M.message(1, subject: "p", sent: 1, id: "a@h", references: ["gone@h"]),
            M.message(2, subject: "q", sent: 2, id: "b@h", references: ["gone@h"]),
        ]
        #expect(references(two) == "((1)(2))")
        let one = [M.message(1, subject: "p", sent: 1, id: "a@h", references: ["gone@h", "also-gone@h"])]
        #expect(references(one) == "(1)")
        // A placeholder below a message hands its children up.
        let nested = [
            M.message(1, subject: "p", sent: 1, id: "a@h"),
            M.message(2, subject: "q", sent: 3, id: "b@h", references: ["a@h", "gone@h"]),
            M.message(3, subject: "r", sent: 2, id: "c@h", references: ["a@h", "gone@h"]),
        ]
        #expect(references(nested) == "(1 (3)(2))")
    }

    @Test("REFERENCES: threads with one base subject are gathered (step 5)")
    func subjects() {
        // A reply joins the original; two originals get a placeholder above them.
        let messages = [
            M.message(1, subject: "hello", sent: 1, id: "a@h"),
            M.message(2, subject: "Re: hello", sent: 2, id: "b@h"),
            M.message(3, subject: "other", sent: 3, id: "c@h"),
            M.message(4, subject: "other", sent: 4, id: "d@h"),
            M.message(5, subject: "", sent: 5, id: "e@h"),
            M.message(6, subject: "", sent: 6, id: "f@h"),
        ]
        #expect(references(messages) == "(1 2)((3)(4))(5)(6)")
    }

    @Test("REFERENCES: a duplicate Message-ID gets an id of its own; the first holder keeps it")
    func duplicateIDs() {
        let messages = [
            M.message(1, subject: "s1", sent: 1, id: "a@h"),
            M.message(2, subject: "s2", sent: 2, id: "a@h"),
            M.message(3, subject: "s3", sent: 3, id: "c@h", references: ["a@h"]),
        ]
        #expect(references(messages) == "(1 3)(2)")
    }

    @Test("REFERENCES: references that would make a loop are not linked")
    func loops() {
        let messages = [
            M.message(1, subject: "s1", sent: 1, id: "a@h", references: ["b@h"]),
            M.message(2, subject: "s2", sent: 2, id: "b@h", references: ["a@h"]),
            M.message(3, subject: "s3", sent: 3, id: "c@h", references: ["c@h"]),
        ]
        #expect(references(messages) == "(2 1)(3)")
    }

    @Test("REFERENCES: ids without an @ are no ids; In-Reply-To stands in for References that hold none")
    func invalidIDs() {
        let messages = [
            M.message(1, subject: "a", sent: 1, id: "p@x"),
            M.message(2, subject: "b", sent: 2, id: "junk", references: ["junk2"], inReplyTo: ["p@x"]),
            M.message(3, subject: "c", sent: 3, id: "q@x", references: ["junk"]),
        ]
        #expect(references(messages) == "(1 2)(3)")
    }

    @Test("REFERENCES: a later message's last reference replaces a parent taken from a truncated list")
    func lastReferenceWins() {
        let messages = [
            M.message(1, subject: "s1", sent: 1, id: "a@h"),
            M.message(2, subject: "s2", sent: 2, id: "b@h"),
            M.message(3, subject: "s3", sent: 3, id: "c@h", references: ["a@h"]),
            M.message(4, subject: "s4", sent: 4, id: "d@h", references: ["b@h", "c@h"]),
        ]
        // 3 keeps 1 as parent: step 1 A never changes an existing link, and only 3's own
        // References may replace it.
        #expect(references(messages) == "(1 3 4)(2)")
    }

    @Test("every message appears exactly once, whatever the references", arguments: 0..<8)
    func everyMessageOnce(seed: Int) {
        var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let subjects = ["a", "Re: a", "b", "Fwd: b", "", "[x] c"]
        let messages = (1...150).map { n in
            M.message(UInt32(n), subject: subjects[next(subjects.count)], sent: Int64(next(40)),
                      id: next(10) == 0 ? nil : "m\(next(120))@h",
                      references: (0..<next(4)).map { _ in "m\(next(120))@h" }, inReplyTo: next(3) == 0 ? ["m\(next(120))@h"] : [])
        }
        let text = references(messages)
        let numbers = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.sorted() == Array(1...150))
        #expect(!text.contains("()"))
        let ordered = wire(MessageThreader(byUID: false).orderedSubject(messages))
        #expect(ordered.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.sorted() == Array(1...150))
    }
}

private extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0.isNewline || $0 == " " }).reversed())
    }
}
