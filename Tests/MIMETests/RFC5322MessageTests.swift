import Testing
@testable import MIME

/// Whole messages from RFC 5322 Appendix A, parsed to the fields the RFC describes.
@Suite struct RFC5322MessageTests {
    /// Message, expected From addresses, To addresses, Subject, Date seconds.
    static let messages: [(String, [String], [String], String?, Int64?)] = [
        // A.1.1 A message from one person to another with simple addressing
        ("""
         From: John Doe <jdoe@machine.example>
         To: Mary Smith <mary@example.net>
         Subject: Saying Hello
         Date: Fri, 21 Nov 1997 09:55:06 -0600
         Message-ID: <1234@local.machine.example>

         This is a message just to say hello.
         So, "Hello".
         """, ["jdoe@machine.example"], ["mary@example.net"], "Saying Hello", 880_127_706),
        // A.1.3 Group addresses
        ("""
         From: Pete <pete@silly.example>
         To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;
         Cc: Undisclosed recipients:;
         Date: Thu, 13 Feb 1969 23:32:54 -0330
         Message-ID: <testabcd.1234@silly.example>

         Testing.
         """, ["pete@silly.example"], ["c@a.test", "joe@where.test", "jdoe@one.test"], nil, -27_723_426),
        // A.5 White space, comments, and other oddities
        ("""
         From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>
         To:A Group(Some people)
              :Chris Jones <c@(Chris's host.)public.example>,
                  joe@example.org,
           John <jdoe@one.test> (my dear friend); (the end of the group)
         Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;
         Date: Thu,
               13
                 Feb
                   1969
               23:32
                        -0330 (Newfoundland Time)
         Message-ID:              <testabcd.1234@silly.test>

         Testing.
         """, ["pete@silly.test"], ["c@public.example", "joe@example.org", "jdoe@one.test"], nil, -27_723_480),
        // A.6.3 Obsolete white space and comments
        ("""
         From  : John Doe <jdoe@machine(comment).  example>
         To    : Mary Smith
           
                   <mary@example.net>
         Subject     : Saying Hello
         Date  : Fri, 21 Nov 1997 09(comment):   55  :  06 -0600
         Message-ID  : <1234   @   local(blah)  .machine .example>

         This is a message just to say hello.
         So, "Hello".
         """, ["jdoe@machine.example"], ["mary@example.net"], "Saying Hello", 880_127_706),
    ]

    @Test(arguments: 0..<messages.count)
    func parses(index: Int) {
        let (text, from, to, subject, seconds) = Self.messages[index]
        let summary = Fixture.message(text).summary()
        #expect(summary.from.map(\.address) == from)
        #expect(summary.to.map(\.address) == to)
        #expect(summary.subject == subject)
        #expect(summary.date?.secondsSince1970 == seconds)
        #expect(summary.messageID?.contains("1234") == true || summary.messageID?.contains("testabcd") == true)
        #expect(summary.snippet == "This is a message just to say hello. So, \"Hello\"." || summary.snippet == "Testing.")
    }
}
