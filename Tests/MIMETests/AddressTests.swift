import Testing
@testable import MIME

/// RFC 5322 Appendix A address examples, plus the obsolete forms of section 4.4.
@Suite struct AddressTests {
    /// Input, then each mailbox as "name|address" ("-" for no name).
    static let vectors: [(String, [String])] = [
        ("John Doe <jdoe@machine.example>", ["John Doe|jdoe@machine.example"]),
        ("\"Joe Q. Public\" <john.q.public@example.com>", ["Joe Q. Public|john.q.public@example.com"]),
        ("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
         ["Mary Smith|mary@x.test", "-|jdoe@example.org", "Who?|one@y.test"]),
        ("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
         ["-|boss@nil.test", "Giant; \"Big\" Box|sysservices@example.net"]),
        ("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
         ["Ed Jones|c@a.test", "-|joe@where.test", "John|jdoe@one.test"]),
        ("Undisclosed recipients:;", []),
        ("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", ["Pete|pete@silly.test"]),
        ("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
         ["Chris Jones|c@public.example", "-|joe@example.org", "John|jdoe@one.test"]),
        ("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", []),
        // Obsolete syntax (A.6): phrase with a period, routes, empty list elements, spaced dots.
        ("Joe Q. Public <john.q.public@example.com>", ["Joe Q. Public|john.q.public@example.com"]),
        ("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
         ["Mary Smith|mary@example.net", "-|jdoe@test.example"]),
        // A.6.3: comments and white space inside the address.
        ("John Doe <jdoe@machine(comment).  example>", ["John Doe|jdoe@machine.example"]),
        ("Mary Smith\r\n  \r\n          <mary@example.net>", ["Mary Smith|mary@example.net"]),
        // Real mail: encoded names, comments as names, bare local parts.
        ("=?utf-8?q?Zo=C3=AB?= <zoe@example.com>", ["Zoë|zoe@example.com"]),
        ("\"=?utf-8?b?w6k=?=\" <e@example.com>", ["é|e@example.com"]),
        ("user@example.com (Real Name)", ["Real Name|user@example.com"]),
        // A name-addr's name is its phrase: a comment after the angle brackets names nothing.
        ("<user-from (comment)@ (comment) domain.org> (UserFrom)", ["-|user-from@domain.org"]),
        ("(Before) <before@example.org>", ["-|before@example.org"]),
        ("undisclosed-recipients", ["-|undisclosed-recipients"]),
        ("\"john doe\"@example.com", ["-|\"john doe\"@example.com"]),
    ]

    @Test(arguments: vectors)
    func parses(input: String, expected: [String]) {
        let mailboxes = AddressParser.parse(Array(input.utf8)).mailboxes
        #expect(mailboxes.map { ($0.displayName ?? "-") + "|" + $0.address } == expected)
    }

    @Test func groupStructure() {
        let items = AddressParser.parse(Array("A Group:Ed Jones <c@a.test>,joe@where.test;, x@y.z".utf8))
        guard items.count == 2, case .group(let name, _, let members) = items[0] else {
            Issue.record("expected a group and a mailbox, got \(items)")
            return
        }
        #expect(name == "A Group")
        #expect(members.count == 2)
        #expect(items[1] == .mailbox(Mailbox(localPart: "x", domain: "y.z")))
    }

    @Test func routeIsKept() {
        let mailbox = AddressParser.parse(Array("<@a.test,@b.test:joe@c.test>".utf8)).mailboxes.first
        #expect(mailbox?.route == "@a.test,@b.test")
        #expect(mailbox?.address == "joe@c.test")
    }

    @Test(arguments: [MIMELimits.maximumAddressCount, MIMELimits.maximumAddressCount + 1])
    func addressCountLimit(count: Int) {
        let list = (0..<count).map { "a\($0)@b.c" }.joined(separator: ", ")
        #expect(AddressParser.parse(Array(list.utf8)).count == min(count, MIMELimits.maximumAddressCount))
    }
}
