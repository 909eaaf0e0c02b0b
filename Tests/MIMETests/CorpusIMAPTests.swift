import Testing
@testable import MIME

/// BODYSTRUCTURE, ENVELOPE and body sections of corpus messages, against values worked out by
/// reading each file with RFC 2046 5.1.1 (the line break before a delimiter belongs to it) and RFC
/// 3501 7.4.2 (sizes in bytes as stored, lines as line breaks). The corpus files end lines with LF
/// alone, and are stored byte for byte.
@Suite struct CorpusIMAPTests {
    static let cases: [(name: String, structure: String, envelope: String)] = [
        ("msg_01.txt",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 37 6 NIL NIL NIL NIL)"#,
         #"("Fri, 4 May 2001 14:05:44 -0400" "This is a test message" (("John X. Doe" NIL "bbb" "ddd.com")) "#
            + #"(("John X. Doe" NIL "bbb" "ddd.com")) (("John X. Doe" NIL "bbb" "ddd.com")) ((NIL NIL "bbb" "zzz.org")) "#
            + #"NIL NIL NIL "<15090.61304.110929.45684@aaa.zzz.org>")"#),
        ("msg_04.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 48 2 NIL ("inline" ("filename" "msg.txt")) NIL NIL)"#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 48 2 NIL ("inline" ("filename" "msg.txt")) NIL NIL)"#
            + #" "mixed" ("boundary" "h90VIIIKmx") NIL NIL NIL)"#,
         #"("Tue, 11 Sep 2001 00:05:05 -0400" "a simple multipart" (("Barry A. Warsaw" NIL "barry" "python.org")) "#
            + #"(("Barry A. Warsaw" NIL "barry" "python.org")) (("Barry A. Warsaw" NIL "barry" "python.org")) "#
            + #"((NIL NIL "barry" "python.org")) NIL NIL NIL "<15261.36209.358846.118674@anthem.python.org>")"#),
        ("msg_07.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 36 3 NIL NIL NIL NIL)"#
            + #"("image" "gif" ("name" "dingusfish.gif") NIL NIL "base64" 4746 NIL ("attachment" ("filename" "dingusfish.gif")) NIL NIL)"#
            + #" "mixed" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"("Fri, 20 Apr 2001 19:35:02 -0400" "Here is your dingus fish" (("Barry" NIL "barry" "digicool.com")) "#
            + #"(("Barry" NIL "barry" "digicool.com")) (("Barry" NIL "barry" "digicool.com")) "#
            + #"(("Dingus Lovers" NIL "cravindogs" "cravindogs.com")) NIL NIL NIL NIL)"#),
        // A whole message that is a message/rfc822: the outer body's size and lines, the inner envelope
        // (Sender given, Reply-To from From) and structure.
        ("msg_06.txt",
         #"("message" "rfc822" NIL NIL "forwarded message" "7bit" 481 ("Thu, 13 Sep 2001 17:28:28 -0400" "testing" "#
            + #"(("Barry A. Warsaw" NIL "barry" "python.org")) ((NIL NIL "barry" "python.org")) "#
            + #"(("Barry A. Warsaw" NIL "barry" "python.org")) ((NIL NIL "barry" "python.org")) NIL NIL NIL "#
            + #""<15265.9468.713530.98441@python.org>") ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL) "#
            + #"16 NIL NIL NIL NIL)"#,
         #"("Thu, 13 Sep 2001 17:28:42 -0400" "forwarded message from Barry A. Warsaw" "#
            + #"(("Barry A. Warsaw" NIL "barry" "python.org")) ((NIL NIL "barry" "python.org")) "#
            + #"(("Barry A. Warsaw" NIL "barry" "python.org")) ((NIL NIL "barry" "python.org")) NIL NIL NIL "#
            + #""<15265.9482.641338.555352@python.org>")"#),
        // multipart/signed with a preamble and multi-line parameters, in the order written; no Date.
        ("msg_45.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 29 1 NIL NIL NIL NIL)"#
            + #"("application" "pgp-signature" ("name" "signature.asc") NIL "OpenPGP digital signature" "7bit" 189 NIL "#
            + #"("attachment" ("filename" "signature.asc")) NIL NIL) "signed" "#
            + #"("boundary" "borderline" "protocol" "application/pgp-signature" "micalg" "pgp-sha1") NIL NIL NIL)"#,
         #"(NIL "test" ((NIL NIL "foo" "bar.baz")) ((NIL NIL "foo" "bar.baz")) ((NIL NIL "foo" "bar.baz")) "#
            + #"((NIL NIL "baz" "bar.foo")) NIL NIL NIL NIL)"#),
        // A multipart inside a multipart.
        ("msg_13.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 18 1 NIL NIL NIL NIL)"#
            + #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 36 3 NIL NIL NIL NIL)"#
            + #"("image" "gif" ("name" "dingusfish.gif") NIL NIL "base64" 4746 NIL ("attachment" ("filename" "dingusfish.gif")) NIL NIL)"#
            + #" "mixed" ("boundary" "BOUNDARY") NIL NIL NIL) "mixed" ("boundary" "OUTER") NIL NIL NIL)"#,
         #"("Fri, 20 Apr 2001 19:35:02 -0400" "Here is your dingus fish" (("Barry" NIL "barry" "digicool.com")) "#
            + #"(("Barry" NIL "barry" "digicool.com")) (("Barry" NIL "barry" "digicool.com")) "#
            + #"(("Dingus Lovers" NIL "cravindogs" "cravindogs.com")) NIL NIL NIL NIL)"#),
        // A digest of two messages; no Subject, To or Date at the top.
        ("msg_28.txt",
         #"(("message" "rfc822" NIL NIL NIL "7bit" 96 (NIL "ee" ((NIL NIL "cc" "dd.org")) ((NIL NIL "cc" "dd.org")) "#
            + #"((NIL NIL "cc" "dd.org")) ((NIL NIL "aa" "bb.org")) NIL NIL NIL NIL) "#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL)"#
            + #"("message" "rfc822" NIL NIL NIL "7bit" 96 (NIL "ee" ((NIL NIL "cc" "dd.org")) ((NIL NIL "cc" "dd.org")) "#
            + #"((NIL NIL "cc" "dd.org")) ((NIL NIL "aa" "bb.org")) NIL NIL NIL NIL) "#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL)"#
            + #" "digest" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"(NIL NIL ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) "#
            + #"NIL NIL NIL NIL NIL)"#),
        // Preamble and epilogue, which belong to no part; MIME-Version in the parts' headers.
        ("msg_21.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL)"#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL)"#
            + #" "mixed" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"(NIL "Test" ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) "#
            + #"((NIL NIL "bperson" "dom.ain")) NIL NIL NIL NIL)"#),
        // One part whose text has no line break before the closing delimiter: 0 lines.
        ("msg_23.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 0 NIL NIL NIL NIL) "mixed" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"(NIL NIL ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) ((NIL NIL "aperson" "dom.ain")) "#
            + #"NIL NIL NIL NIL NIL)"#),
        // A part that is one empty line: no header, an empty body of text/plain by default.
        ("msg_24.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"(NIL "A subject" ((NIL NIL "bperson" "dom.ain")) ((NIL NIL "bperson" "dom.ain")) ((NIL NIL "bperson" "dom.ain")) "#
            + #"((NIL NIL "aperson" "dom.ain")) NIL NIL NIL NIL)"#),
        // A whole message that is a message/rfc822 without parameters, the inner message with a Subject only.
        ("msg_11.txt",
         #"("message" "rfc822" NIL NIL NIL "7bit" 63 (NIL "An enclosed message" NIL NIL NIL NIL NIL NIL NIL NIL) "#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 33 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"#,
         #"(NIL "The enclosing message" NIL NIL NIL NIL NIL NIL NIL NIL)"#),
        // A header and no body: every envelope field NIL, an empty text part.
        ("msg_18.txt",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)"#,
         #"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"#),
        // Types, subtypes and parameter names in the case written (clients compare them
        // case-insensitively, RFC 2045 5.1); message/external-body is a basic
        // body (no envelope, no lines); an empty group in To; a first part with no header.
        ("msg_36.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 15 1 NIL NIL NIL NIL)"#
            + #"(("Message" "External-body" ("access-type" "mail-server" "server" "mailserv@ietf.org") NIL NIL "7bit" 133 "#
            + #"NIL NIL NIL NIL)("Message" "External-body" ("name" "draft-ietf-mboned-mix-00.txt" "site" "ftp.ietf.org" "#
            + #""access-type" "anon-ftp" "directory" "internet-drafts") NIL NIL "7bit" 68 NIL NIL NIL NIL)"#
            + #" "Alternative" ("Boundary" "OtherAccess") NIL NIL NIL) "Mixed" ("Boundary" "NextPart") NIL NIL NIL)"#,
         #"("Tue, 22 Dec 1998 16:55:06 -0500" "I-D ACTION:draft-ietf-mboned-mix-00.txt" "#
            + #"((NIL NIL "Internet-Drafts" "ietf.org")) ((NIL NIL "Internet-Drafts" "ietf.org")) "#
            + #"((NIL NIL "Internet-Drafts" "ietf.org")) ((NIL NIL "IETF-Announce" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"#),
        // Transfer encodings in the case written ("Quoted-Printable", "Base64"), "7bit" for a part
        // without the field; base64 bodies ending in an empty line before the delimiter (2 lines).
        ("msg_10.txt",
         #"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 32 1 NIL NIL NIL NIL)"#
            + #"("text" "html" ("charset" "iso-8859-1") NIL NIL "Quoted-Printable" 47 1 NIL NIL NIL NIL)"#
            + #"("text" "plain" ("charset" "iso-8859-1") NIL NIL "Base64" 46 2 NIL NIL NIL NIL)"#
            + #"("text" "plain" ("charset" "iso-8859-1") NIL NIL "Base64" 50 2 NIL NIL NIL NIL)"#
            + #"("text" "plain" ("charset" "iso-8859-1") NIL NIL "7bit" 47 1 NIL NIL NIL NIL)"#
            + #" "mixed" ("boundary" "BOUNDARY") NIL NIL NIL)"#,
         #"("Fri, 20 Apr 2001 19:35:02 -0400" "Lyrics" (("Barry Warsaw" NIL "barry" "python.org")) "#
            + #"(("Barry Warsaw" NIL "barry" "python.org")) (("Barry Warsaw" NIL "barry" "python.org")) "#
            + #"(("Dingus Lovers" NIL "cravindogs" "cravindogs.com")) NIL NIL NIL NIL)"#),
        // RFC 2231 extended values without continuations (a quoted boundary* among them), reported as
        // written with the "*" in the name (RFC 2231 section 6 asks IMAP servers only to join
        // continuations, and there are none); a text part whose charset* is its charset, so no
        // us-ascii default is added; quoted-printable; a disposition without parameters on the
        // multipart and on its parts; an empty preamble; Sender given.
        ("msg_33.txt",
         #"(("text" "plain" ("charset*" "ansi-x3.4-1968''us-ascii") NIL NIL "quoted-printable" 7 1 NIL ("inline" NIL) NIL NIL)"#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL ("inline" NIL) NIL NIL)"#
            + #" "signed" ("micalg*" "ansi-x3.4-1968''pgp-md5" "protocol*" "ansi-x3.4-1968''application%2Fpgp-signature" "#
            + #""boundary*" "ansi-x3.4-1968''EeQfGwPcQSOJBaQU") ("inline" NIL) NIL NIL)"#,
         #"("Wed, 27 Sep 2000 11:11:09 -0500" "Re: Limiting Perl CPU Utilization..." "#
            + #"(("Anne Person" NIL "aperson" "example.com")) ((NIL NIL "owner-freebsd-isp" "FreeBSD.ORG")) "#
            + #"(("Anne Person" NIL "aperson" "example.com")) (("Barney Dude" NIL "bdude" "example.com")) NIL NIL NIL NIL)"#),
        // multipart/report: message/DELIVERY-STATUS is a basic body (no lines), MESSAGE/RFC822 is
        // matched whatever its case and keeps the case written, with its envelope and structure;
        // "(", ")", "+" and "/" in the boundary; a Date with a comment; Sender given at both levels.
        ("msg_16.txt",
         #"(("text" "plain" ("charset" "ISO-8859-1") NIL NIL "7bit" 438 13 NIL NIL NIL NIL)"#
            + #"("message" "DELIVERY-STATUS" NIL NIL NIL "7bit" 265 NIL NIL NIL NIL)"#
            + #"("MESSAGE" "RFC822" NIL NIL NIL "7bit" 2646 ("Sun, 23 Sep 2001 20:10:55 -0700" "[scr] yeah for Ians!!" "#
            + #"(("Ian T. Henry" NIL "henryi" "oxy.edu")) ((NIL NIL "scr-admin" "socal-raves.org")) "#
            + #"(("Ian T. Henry" NIL "henryi" "oxy.edu")) (("SoCal Raves" NIL "scr" "socal-raves.org")) NIL NIL NIL "#
            + #""<002001c144a6$8752e060$56104586@oxy.edu>") "#
            + #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 199 7 NIL NIL NIL NIL) 55 NIL NIL NIL NIL)"#
            + #" "report" ("boundary" "Boundary_(ID_PGS2F2a+z+/jL7hupKgRhA)") NIL NIL NIL)"#,
         #"("Sun, 23 Sep 2001 20:14:35 -0700 (PDT)" "Delivery Notification: Delivery has failed" "#
            + #"(("Internet Mail Delivery" NIL "postmaster" "ucla.edu")) ((NIL NIL "scr-owner" "socal-raves.org")) "#
            + #"(("Internet Mail Delivery" NIL "postmaster" "ucla.edu")) ((NIL NIL "scr-admin" "socal-raves.org")) "#
            + #"NIL NIL NIL "<0GK500B04D0B8X@cougar.noc.ucla.edu>")"#),
        // Content-ID, parameters after " ; " on continuation lines, format=flowed; every part ends
        // on the line break that belongs to the next delimiter (the text parts have 0 lines, the
        // base64 ones end without a line break); a boundary of "=" and "_"; no Subject.
        ("msg_22.txt",
         #"(("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL NIL "7bit" 15 0 NIL NIL NIL NIL)"#
            + #"("image" "jpeg" ("name" "wibble.JPG" "x-mac-type" "4A504547" "x-mac-creator" "474B4F4E") "#
            + #""<a05001902b7f1c33773e9@[134.84.183.138].0.0>" NIL "base64" 369 NIL ("attachment" ("filename" "wibble.JPG")) NIL NIL)"#
            + #"("image" "jpeg" ("name" "wibble2.JPG" "x-mac-type" "4A504547" "x-mac-creator" "474B4F4E") "#
            + #""<a05001902b7f1c33773e9@[134.84.183.138].0.1>" NIL "base64" 430 NIL ("attachment" ("filename" "wibble2.JPG")) NIL NIL)"#
            + #"("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL NIL "7bit" 15 0 NIL NIL NIL NIL)"#
            + #" "mixed" ("boundary" "============_-1208892523==_============") NIL NIL NIL)"#,
         #"("Tue, 16 Oct 2001 13:59:25 +0300" NIL ((NIL NIL "b" "example.com")) ((NIL NIL "b" "example.com")) "#
            + #"((NIL NIL "b" "example.com")) ((NIL NIL "a" "example.com")) NIL NIL NIL "#
            + #""<a05001902b7f1c33773e9@[134.84.183.138]>")"#),
        // A Subject folded over three lines: unfolding removes only the line breaks, so the tabs that
        // begin the continuation lines stay (RFC 5322 2.2.3), and a tab may stand in a quoted string.
        ("msg_27.txt",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)"#,
         #"("Tue, 4 Jun 2002 21:46:59 -0400" "bug demonstration\#t1234567891123456789212345678931234567894123456789512345678961234567897"#
            + #"1234567898112345678911234567892123456789112345678911234567892123456789\#tmore text" "#
            + #"(("Anne P. Erson" NIL "aperson" "dom.ain")) (("Anne P. Erson" NIL "aperson" "dom.ain")) "#
            + #"(("Anne P. Erson" NIL "aperson" "dom.ain")) (("Barney P. Erson" NIL "bperson" "dom.ain")) "#
            + #"NIL NIL NIL "<15613.28051.707126.569693@dom.ain>")"#),
    ]

    @Test(arguments: cases.map(\.name))
    func structureAndEnvelope(name: String) throws {
        let expected = try #require(Self.cases.first { $0.name == name })
        let message = Fixture.corpus(name)
        #expect(message.bodyStructure(extensible: true) == expected.structure)
        #expect(message.envelope == expected.envelope)
    }

    @Test func sectionsOfAMultipart() {
        let message = Fixture.corpus("msg_04.txt")
        let body = "a simple kind of mirror\nto reflect upon our own\n"
        let mime = "Content-Type: text/plain\nContent-Disposition: inline;\n\tfilename=\"msg.txt\"\nContent-Transfer-Encoding: 7bit\n\n"
        for section in [1, 2] {
            #expect(message.string(message.bytes(for: SectionSpec(path: [section]))) == body)
            #expect(message.string(message.bytes(for: SectionSpec(path: [section], text: .mime))) == mime)
        }
        #expect(message.bytes(for: SectionSpec(path: [3])) == nil)
        // A part that is not multipart is its own part 1, as a single-part message is (RFC 3501 6.4.5).
        #expect(message.string(message.bytes(for: SectionSpec(path: [1, 1]))) == body)
        let nested = Fixture.corpus("msg_13.txt")
        #expect(nested.string(nested.bytes(for: SectionSpec(path: [2, 1]))) == "Hi there,\n\nThis is the dingus fish.\n")
        #expect(nested.bytes(for: SectionSpec(path: [2, 2]))?.count == 4746)
        #expect(nested.string(nested.bytes(for: SectionSpec(path: [2], text: .mime))) == "Content-Type: multipart/mixed; boundary=BOUNDARY\n\n")
        let digest = Fixture.corpus("msg_28.txt")
        #expect(digest.string(digest.bytes(for: SectionSpec(path: [2, 1]))) == "message 2\n")
        #expect(digest.string(digest.bytes(for: SectionSpec(path: [1], text: .text))) == "message 1\n")
        let gif = Fixture.corpus("msg_07.txt")
        #expect(gif.bytes(for: SectionSpec(path: [2]))?.count == 4746)
        #expect(gif.string(gif.bytes(for: SectionSpec(path: [1]))) == "Hi there,\n\nThis is the dingus fish.\n")
        let preamble = Fixture.corpus("msg_21.txt")
        #expect(preamble.string(preamble.bytes(for: SectionSpec(path: [1]))) == "One")
        #expect(preamble.string(preamble.bytes(for: SectionSpec(path: [2]))) == "Two")
        #expect(preamble.string(preamble.bytes(for: SectionSpec(path: [2], text: .mime)))
                == "Content-Type: text/plain; charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n")
        let external = Fixture.corpus("msg_36.txt")
        #expect(external.string(external.bytes(for: SectionSpec(path: [1]))) == "Blah blah blah\n")
        #expect(external.string(external.bytes(for: SectionSpec(path: [2, 2])))
                == "Content-Type: text/plain\nContent-ID: <19981222151406.I-D@ietf.org>\n\n")
        #expect(external.string(external.bytes(for: SectionSpec(path: [2, 1], text: .mime)))
                == "Content-Type: Message/External-body;\n\taccess-type=\"mail-server\";\n\tserver=\"mailserv@ietf.org\"\n\n")
        let enclosed = Fixture.corpus("msg_11.txt")
        #expect(enclosed.string(enclosed.bytes(for: SectionSpec(path: [1], text: .text))) == "Here is the body of the message.\n")
        #expect(enclosed.string(enclosed.bytes(for: SectionSpec(path: [1], text: .header))) == "Subject: An enclosed message\n\n")
    }
}
