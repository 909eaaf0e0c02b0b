import Testing
@testable import MIME

/// RFC 5322 section 3.3 and Appendix A dates, obsolete forms (4.3) and what broken mailers send.
@Suite struct DateTests {
    static let vectors: [(String, Int64, Int)] = [
        ("Fri, 21 Nov 1997 09:55:06 -0600", 880_127_706, -360),
        ("Tue, 1 Jul 2003 10:52:37 +0200", 1_057_049_557, 120),
        ("Thu, 13 Feb 1969 23:32:54 -0330", -27_723_426, -210),
        ("21 Nov 97 09:55:06 GMT", 880_106_106, 0),
        ("Fri, 21 Nov 1997 09:55:06 -0600 (CST)", 880_127_706, -360),
        ("Fri 21 Nov 1997 09:55:06 CST", 880_127_706, -360),
        ("Wed Jan  1 12:00:00 2020", 1_577_880_000, 0),
        ("2020-01-01T12:00:00Z", 1_577_880_000, 0),
        ("1 Jan 2020 12:00 +05:30", 1_577_860_200, 330),
        ("Sat, 01 Jan 2000 00:00:00 +0000 (UTC)", 946_684_800, 0),
        ("Fri, 20 Apr 2001 20:18:00 -0400 (EDT)", 987_812_280, -240),
        ("31-Dec-1999 23:59 EST", 946_702_740, -300),
        ("Sun, 5 Jan 103 22:03:00 +0100", 1_041_800_580, 60),
        // RFC 5322 A.6.3 (obsolete white space and comments) and A.5 (folded).
        ("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", 880_127_706, -360),
        ("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)", -27_723_480, -210),
        // A valid day with an impossible time is that day at midnight (RFC 5256 2.2).
        ("Mon, 1 Jan 2001 25:61:00 +0000", 978_307_200, 0),
    ]

    @Test(arguments: vectors)
    func parses(input: String, seconds: Int64, offset: Int) {
        let date = MessageDate(parsing: Array(input.utf8))
        #expect(date?.secondsSince1970 == seconds)
        #expect(date?.utcOffsetMinutes == offset)
    }

    @Test(arguments: ["", "garbage", "32 Jan 2020 10:00:00 +0000", "Fri, 21 Foo 1997", "10:00:00", "31 Feb 2010 10:00:00 +0000",
                      "29 Feb 2100 10:00:00 +0000", "31 Apr 2020 10:00:00 +0000"])
    func rejects(input: String) {
        #expect(MessageDate(parsing: Array(input.utf8)) == nil)
    }

    @Test(arguments: [(880_127_706 as Int64, -360, "Fri, 21 Nov 1997 09:55:06 -0600"),
                      (-27_723_426, -210, "Thu, 13 Feb 1969 23:32:54 -0330"),
                      (0, 0, "Thu, 1 Jan 1970 00:00:00 +0000")])
    func formats(seconds: Int64, offset: Int, expected: String) {
        #expect(MessageDate(secondsSince1970: seconds, utcOffsetMinutes: offset).rfc5322 == expected)
    }
}

@Suite struct MessageIDTests {
    static let vectors: [(String, [String])] = [
        ("<1234@local.machine.example>", ["1234@local.machine.example"]),
        ("<1234@local.machine.example> <3456@example.net>", ["1234@local.machine.example", "3456@example.net"]),
        ("\r\n <a@b>\r\n <c@d>", ["a@b", "c@d"]),
        // obs-in-reply-to: a phrase between identifiers.
        ("Your message of \"Mon, 1 Jan\" <a@b>", ["a@b"]),
        ("(comment) <x@y> (more)", ["x@y"]),
        // A word outside brackets is no id in a list (In-Reply-To: an address, as old mailers wrote).
        ("bare@id.example", []),
        // RFC 5322 A.6.3.
        ("<1234   @   local(blah)  .machine .example>", ["1234@local.machine.example"]),
        // RFC 5256 section 3: quoting is no part of the id.
        ("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", ["01KF8JCEOCBS0045PS@xxx.yyy.com"]),
        ("<\"a\\\"b\"@x>", ["a\"b@x"]),
        ("", []),
    ]

    @Test(arguments: vectors)
    func parsesList(input: String, expected: [String]) {
        #expect(MessageIDParser.parseList(Array(input.utf8)) == expected)
    }

    @Test("a Message-ID written without brackets is still the message's id")
    func bareMessageID() {
        #expect(MessageIDParser.parse(Array("bare@id.example".utf8)) == "bare@id.example")
        #expect(MessageDate(parsing: Array("29 Feb 2000 10:00:00 +0000".utf8)) != nil)
    }

    @Test(arguments: [MIMELimits.maximumMessageIDCount, MIMELimits.maximumMessageIDCount + 1])
    func identifierCountLimit(count: Int) {
        let references = (0..<count).map { "<id\($0)@example.com>" }.joined(separator: " ")
        #expect(MessageIDParser.parseList(Array(references.utf8)).count == min(count, MIMELimits.maximumMessageIDCount))
    }
}
