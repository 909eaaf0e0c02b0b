import Testing
@testable import MIME

/// BODYSTRUCTURE, BODY, ENVELOPE and section fetches as RFC 3501 6.4.5 / 7.4.2 prescribe.
@Suite struct IMAPTests {
    static let simple = Fixture.message("""
        From: John Doe <jdoe@machine.example>
        To: Mary Smith <mary@example.net>
        Subject: Saying Hello
        Date: Fri, 21 Nov 1997 09:55:06 -0600
        Message-ID: <1234@local.machine.example>

        This is a message just to say hello.
        So, "Hello".

        """)

    static let multipart = Fixture.message("""
        From: a@example.com
        Subject: multi
        Content-Type: multipart/mixed; boundary="xyz"

        preamble
        --xyz
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        caf=C3=A9
        --xyz
        Content-Type: application/octet-stream; name="a.bin"
        Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.bin
        Content-Transfer-Encoding: base64

        AAEC
        --xyz
        Content-Type: message/rfc822

        Subject: inner
        From: b@example.com

        inner body
        --xyz--
        epilogue

        """)

    @Test func singlePartBodyStructure() {
        #expect(Self.simple.bodyStructure(extensible: true)
                == #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 52 2 NIL NIL NIL NIL)"#)
        #expect(Self.simple.bodyStructure(extensible: false)
                == #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 52 2)"#)
    }

    @Test func singlePartEnvelope() {
        let john = #"(("John Doe" NIL "jdoe" "machine.example"))"#
        #expect(Self.simple.envelope == #"("Fri, 21 Nov 1997 09:55:06 -0600" "Saying Hello" "# + john + " " + john + " " + john
                + #" (("Mary Smith" NIL "mary" "example.net")) NIL NIL NIL "<1234@local.machine.example>")"#)
    }

    /// RFC 3501 sends header strings as they are: bytes that are not UTF-8 (here Latin-1) go out
    /// unchanged in a literal whose count is of those bytes, and UTF-8 stays UTF-8.
    @Test func envelopeKeepsEightBitHeaderBytesAsStored() {
        let head = Array("From: Ren".utf8) + [0xE9] + Array(" <rene@example.test>\r\nTo: Zo".utf8) + [0xC3, 0xAB]
            + Array(" <zoe@example.test>\r\nSubject: caf".utf8) + [0xE9] + Array("\r\n\r\nbody\r\n".utf8)
        let wire = StoredBytes.wireBytes(MIMEMessage(parsing: head).envelope)
        let rene = Array("((".utf8) + Array("{4}\r\nRen".utf8) + [0xE9] + Array(#" NIL "rene" "example.test"))"#.utf8)
        let expected = Array("(NIL ".utf8) + Array("{4}\r\ncaf".utf8) + [0xE9] + [0x20] + rene + [0x20] + rene + [0x20] + rene
            + Array(" ((".utf8) + Array("{4}\r\nZo".utf8) + [0xC3, 0xAB] + Array(#" NIL "zoe" "example.test")) NIL NIL NIL NIL)"#.utf8)
        #expect(wire == expected, "\(String(decoding: wire, as: UTF8.self))")
    }

    @Test func singlePartSections() {
        let message = Self.simple
        #expect(message.string(message.bytes(for: SectionSpec(path: [1])))
                == "This is a message just to say hello.\r\nSo, \"Hello\".\r\n")
        #expect(message.string(message.bytes(for: SectionSpec(text: .text))) == message.string(message.bytes(for: SectionSpec(path: [1]))))
        #expect(message.bytes(for: SectionSpec(path: [2])) == nil)
        #expect(message.string(message.bytes(for: SectionSpec(path: [1], text: .mime)))?.hasPrefix("From: John Doe") == true)
        #expect(message.bytes(for: SectionSpec())?.count == message.size)
        #expect(message.string(message.bytes(for: SectionSpec(text: .headerFields(["subject", "FROM"]))))
                == "From: John Doe <jdoe@machine.example>\r\nSubject: Saying Hello\r\n\r\n")
        #expect(message.string(message.bytes(for: SectionSpec(text: .headerFieldsNot(["from", "to", "date", "message-id"]))))
                == "Subject: Saying Hello\r\n\r\n")
        #expect(message.string(message.bytes(for: SectionSpec(text: .headerFields(["x-absent"])))) == "\r\n")
    }

    /// RFC 3501 6.4.5: header fetches end with the blank line, except for a message that has no
    /// body and no blank line.
    @Test func headerFieldsOfAMessageWithoutABlankLine() {
        let bare = MIMEMessage(parsing: Array("Subject: s\r\nX: y".utf8))
        #expect(bare.string(bare.bytes(for: SectionSpec(text: .headerFieldsNot(["x"])))) == "Subject: s\r\n")
        #expect(bare.string(bare.bytes(for: SectionSpec(text: .headerFields(["subject"])))) == "Subject: s\r\n")
        let empty = MIMEMessage(parsing: Array("Subject: s\r\n\r\n".utf8))
        #expect(empty.string(empty.bytes(for: SectionSpec(text: .headerFields(["subject"])))) == "Subject: s\r\n\r\n")
    }

    /// Conventions mature servers share where RFC 3501 leaves room: line counts are line breaks (a
    /// last line without one is not counted), type, subtype and encoding keep the message's case, an
    /// unknown encoding is reported as written, and body-fld-lang is always a list.
    @Test(arguments: [
        ("Content-Type: Text/Plain\r\n\r\nline1\r\nline2",
         #"("Text" "Plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)"#),
        ("Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 2 NIL NIL NIL NIL)"#),
        ("Content-Type: text/plain\r\n\r\n",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)"#),
        ("Content-Type: APPLICATION/X-Thing\r\nContent-Transfer-Encoding: X-Custom\r\n\r\nabc",
         #"("APPLICATION" "X-Thing" NIL NIL NIL "X-Custom" 3 NIL NIL NIL NIL)"#),
        ("Content-Type: text/plain\r\nContent-Transfer-Encoding: Base64\r\nContent-Language: en\r\n\r\naGk=\r\n",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "Base64" 6 1 NIL NIL ("en") NIL)"#),
        ("Content-Type: text/plain\r\nContent-Language: en, fr\r\n\r\nx\r\n",
         #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL ("en" "fr") NIL)"#),
    ])
    func bodyStructureConventions(_ message: String, _ expected: String) {
        #expect(MIMEMessage(parsing: Array(message.utf8)).bodyStructure(extensible: true) == expected)
    }

    @Test func multipartBodyStructure() {
        let inner = #"(NIL "inner" ((NIL NIL "b" "example.com")) ((NIL NIL "b" "example.com")) ((NIL NIL "b" "example.com")) NIL NIL NIL NIL NIL)"#
        let expected = #"(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 9 0 NIL NIL NIL NIL)"#
            + #"("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 4 NIL ("attachment" ("filename*" "utf-8''%E2%82%AC.bin")) NIL NIL)"#
            + #"("message" "rfc822" NIL NIL NIL "7bit" 49 "# + inner
            + #" ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"#
            + #" "mixed" ("boundary" "xyz") NIL NIL NIL)"#
        #expect(Self.multipart.bodyStructure(extensible: true) == expected)
        #expect(Self.multipart.bodyStructure(extensible: false)
                == #"(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 9 0)("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 4)("message" "rfc822" NIL NIL NIL "7bit" 49 "# + inner + #" ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0) 3) "mixed")"#)
    }

    static let sectionVectors: [(SectionSpec, String?)] = [
        (SectionSpec(path: [1]), "caf=C3=A9"),
        (SectionSpec(path: [1], text: .mime), "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"),
        (SectionSpec(path: [2]), "AAEC"),
        (SectionSpec(path: [3]), "Subject: inner\r\nFrom: b@example.com\r\n\r\ninner body"),
        (SectionSpec(path: [3], text: .header), "Subject: inner\r\nFrom: b@example.com\r\n\r\n"),
        (SectionSpec(path: [3], text: .text), "inner body"),
        (SectionSpec(path: [3], text: .headerFields(["from"])), "From: b@example.com\r\n\r\n"),
        (SectionSpec(path: [3, 1]), "inner body"),
        (SectionSpec(path: [3, 1], text: .mime), "Subject: inner\r\nFrom: b@example.com\r\n\r\n"),
        (SectionSpec(path: [1], text: .header), ""),
        (SectionSpec(path: [4]), nil),
        // A part that is not multipart is its own part 1 (as UW imapd answers).
        (SectionSpec(path: [1, 1]), "caf=C3=A9"),
        (SectionSpec(path: [1, 2]), nil),
        (SectionSpec(path: [3, 2]), nil),
        (SectionSpec(text: .header), "From: a@example.com\r\nSubject: multi\r\nContent-Type: multipart/mixed; boundary=\"xyz\"\r\n\r\n"),
        (SectionSpec(text: .headerFields(["SUBJECT", "from"])), "From: a@example.com\r\nSubject: multi\r\n\r\n"),
    ]

    @Test(arguments: sectionVectors)
    func multipartSections(spec: SectionSpec, expected: String?) {
        let message = Self.multipart
        #expect(message.string(message.bytes(for: spec)) == expected)
    }

    @Test func textIsEverythingAfterTheHeader() {
        let message = Self.multipart
        #expect(message.string(message.bytes(for: SectionSpec(text: .text)))?.hasPrefix("preamble\r\n--xyz") == true)
    }

    @Test func partialRanges() {
        let data = Self.simple.bytes(for: SectionSpec(path: [1]))!
        #expect(String(decoding: MIMEMessage.partial(data, start: 5, length: 2), as: UTF8.self) == "is")
        #expect(MIMEMessage.partial(data, start: 1000, length: 2).isEmpty)
        #expect(MIMEMessage.partial(data, start: 50).count == 2)
    }

    @Test func binarySections() {
        let message = Self.multipart
        #expect(message.binary(section: [1]) == .content(Array("café".utf8)))
        #expect(message.binary(section: [2]) == .content([0, 1, 2]))
        #expect(message.binary(section: [9]) == nil)
        let odd = Fixture.message("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n")
        #expect(odd.binary(section: [1]) == .unknownEncoding)
    }

    @Test func envelopeGroupsAndLiterals() {
        let message = Fixture.message("""
            From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>
            To: A Group:Ed Jones <c@a.test>;, Who <w@example.com>
            Subject: caf\u{e9}

            x
            """)
        let envelope = message.envelope
        #expect(envelope.contains(#"(("=?utf-8?q?Zo=C3=AB?=" NIL "zoe" "example.com"))"#))
        #expect(envelope.contains(#"((NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL NIL NIL)("Who" NIL "w" "example.com"))"#))
        #expect(envelope.contains("{5}\r\ncafé"))
    }

    @Test func digestDefaultInBodyStructure() {
        let message = Fixture.corpus("msg_28.txt")
        #expect(message.bodyStructure(extensible: false).contains(#"("message" "rfc822" NIL NIL NIL "7bit" "#))
    }
}

/// A top-level message/rfc822 and sections inside nested messages (RFC 3501 6.4.5 example shape).
@Suite struct NestedSectionTests {
    static let forwarded = Fixture.message("""
        From: outer@example.com
        Subject: Fwd
        Content-Type: message/rfc822

        From: inner@example.com
        Subject: inner
        Content-Type: multipart/alternative; boundary=alt

        --alt
        Content-Type: text/plain

        plain
        --alt
        Content-Type: text/html

        <p>html</p>
        --alt--
        """)

    static let vectors: [(SectionSpec, String?)] = [
        // Section 1 of a non-multipart message is its body: here the whole encapsulated message.
        (SectionSpec(path: [1]), nil),
        (SectionSpec(path: [1, 1]), "plain"),
        (SectionSpec(path: [1, 2]), "<p>html</p>"),
        (SectionSpec(path: [1, 2], text: .mime), "Content-Type: text/html\r\n\r\n"),
        (SectionSpec(path: [1], text: .header), "From: inner@example.com\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"),
        (SectionSpec(path: [1, 3]), nil),
    ]

    @Test(arguments: vectors)
    func sections(spec: SectionSpec, expected: String?) {
        let message = Self.forwarded
        if spec == SectionSpec(path: [1]) {
            #expect(message.string(message.bytes(for: spec))?.hasPrefix("From: inner@example.com") == true)
        } else {
            #expect(message.string(message.bytes(for: spec)) == expected)
        }
    }

    @Test func structureAndEnvelope() {
        let message = Self.forwarded
        #expect(Fixture.shape(message.root) == "message/rfc822[multipart/alternative(text/plain,text/html)]")
        let structure = message.bodyStructure(extensible: false)
        #expect(structure.hasPrefix(#"("message" "rfc822" NIL NIL NIL "7bit" "#))
        #expect(structure.contains(#"(NIL "inner" ((NIL NIL "inner" "example.com"))"#))
        #expect(structure.contains(#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0) "alternative")"#))
        #expect(message.envelope().subject == "Fwd")
        #expect(message.envelope(of: message.root.embeddedMessage).subject == "inner")
    }

    /// A forwarded message that itself forwards one: each message/rfc822 part carries the envelope
    /// of the message it encapsulates, not of the one below that (RFC 3501 7.4.2).
    @Test func nestedForwardsCarryTheirOwnEnvelopes() {
        let message = MIMEMessage(parsing: Array("""
            Subject: outer\r
            Content-Type: message/rfc822\r
            \r
            Subject: middle\r
            Content-Type: message/rfc822\r
            \r
            Subject: inner\r
            \r
            x\r

            """.utf8))
        #expect(message.bodyStructure(extensible: false) == """
            ("message" "rfc822" NIL NIL NIL "7bit" 70 (NIL "middle" NIL NIL NIL NIL NIL NIL NIL NIL) \
            ("message" "rfc822" NIL NIL NIL "7bit" 21 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) \
            ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1) 3) 6)
            """)
    }

    /// No IMAP string carries NUL: a header's NUL goes out as U+FFFD, and the literal counts the
    /// bytes that are sent.
    @Test func aNulInAHeaderIsReplacedBeforeTheLiteralIsCounted() {
        let message = MIMEMessage(parsing: Array("Subject: a\u{0}b\r\n\r\nx\r\n".utf8))
        let wire = StoredBytes.wireBytes(message.envelope().imapString)
        #expect(wire.starts(with: Array("(NIL {5}\r\na\u{FFFD}b NIL".utf8)))
    }

    /// A parameter value in 8-bit bytes that are not UTF-8 goes out as stored, not transcoded.
    @Test func eightBitParameterBytesAreSentAsStored() {
        let message = MIMEMessage(parsing: Array("Content-Type: text/plain; name=\"caf".utf8) + [0xE9] + Array("\"\r\n\r\nx\r\n".utf8))
        let wire = StoredBytes.wireBytes(message.bodyStructure(extensible: false))
        #expect(wire == Array("(\"text\" \"plain\" (\"name\" {4}\r\ncaf".utf8) + [0xE9]
                    + Array(" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)".utf8))
    }

    /// BINARY sends the decoded bytes exactly, line ends as they were (as other servers do).
    @Test func binaryKeepsTheDecodedBytes() {
        let message = MIMEMessage(parsing: Array("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nYQpiDWMNCg==\r\n".utf8))
        #expect(message.binary(section: [1]) == .content(Array("a\nb\rc\r\n".utf8)))
        let multipart = MIMEMessage(parsing: Array("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n".utf8))
        #expect(multipart.binary(section: []) != nil)
        #expect(multipart.binary(section: [1]) == .content(Array("x".utf8)))
        #expect(multipart.binary(section: [2]) == nil)
        let nested = MIMEMessage(parsing: Array("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\n".utf8))
        #expect(nested.binary(section: [1]) == .notALeaf)
    }

    @Test func quotedStringEscapesAndLiterals() {
        var output = ""
        IMAPString.string(#"say "hi" \ bye"#, into: &output)
        #expect(output == #""say \"hi\" \\ bye""#)
        output = ""
        IMAPString.string("line\r\nbreak", into: &output)
        #expect(output == "{11}\r\nline\r\nbreak")
    }

    @Test func encodedMessagePartIsOpaque() {
        let message = Fixture.message("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n")
        #expect(message.root.embeddedMessage == nil)
        #expect(message.bodyStructure(extensible: false) == #"("application" "octet-stream" NIL NIL NIL "base64" 22)"#)
    }
}
