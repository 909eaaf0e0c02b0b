import Testing
@testable import MIME

/// Body selection (RFC 8621 4.1.4 rules), snippets, attachments and decoding.
@Suite struct SummaryTests {
    @Test func alternativeChoosesBoth() {
        let message = Fixture.message("""
            From: "Joe" <joe@example.com>
            To: a@example.com, B <b@example.com>
            Subject: =?utf-8?q?Caf=C3=A9?= news
            Date: Tue, 1 Jul 2003 10:52:37 +0200
            Message-ID: <m1@example.com>
            In-Reply-To: <m0@example.com>
            References: <r1@example.com> <m0@example.com>
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Hello   caf=E9
            world
            --b
            Content-Type: text/html; charset=utf-8

            <html><head><style>p{}</style></head><body><p>Hello <b>caf&eacute;</b></p></body></html>
            --b--

            """)
        let summary = message.summary()
        #expect(summary.subject == "Café news")
        #expect(summary.from.map(\.address) == ["joe@example.com"])
        #expect(summary.from.first?.displayName == "Joe")
        #expect(summary.to.map(\.address) == ["a@example.com", "b@example.com"])
        #expect(summary.date?.secondsSince1970 == 1_057_049_557)
        #expect(summary.messageID == "m1@example.com")
        #expect(summary.inReplyTo == ["m0@example.com"])
        #expect(summary.references == ["r1@example.com", "m0@example.com"])
        #expect(summary.textBody == "Hello   café\r\nworld")
        #expect(summary.htmlBody?.contains("<b>caf&eacute;</b>") == true)
        #expect(summary.snippet == "Hello café world")
        #expect(summary.attachments.isEmpty)
    }

    @Test func htmlOnlySnippetStripsMarkup() {
        let message = Fixture.message("""
            Content-Type: text/html

            <html><head><title>T</title><script>var x = "<b>";</script></head>
            <body><!-- hidden --><p>First&nbsp;line</p><div>Second &amp; &#x263A; &lt;3</div></body></html>
            """)
        let summary = message.summary()
        #expect(summary.textBody == nil)
        #expect(summary.snippet == "First line Second & ☺ <3")
    }

    @Test(arguments: [MIMELimits.snippetLength, MIMELimits.snippetLength + 1])
    func snippetLengthLimit(length: Int) {
        let summary = Fixture.message("Subject: x\n\n" + String(repeating: "y", count: length)).summary()
        #expect(summary.snippet.count == min(length, MIMELimits.snippetLength))
    }

    @Test func snippetIsBounded() {
        let long = String(repeating: "word ", count: 500)
        let summary = Fixture.message("Subject: x\n\n" + long).summary()
        #expect(summary.snippet.count == MIMELimits.snippetLength)
    }

    @Test func attachmentsAndInlineImages() {
        let message = Fixture.message("""
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/related; boundary=rel

            --rel
            Content-Type: text/html

            <img src="cid:logo@x">
            --rel
            Content-Type: image/png
            Content-ID: <logo@x>
            Content-Transfer-Encoding: base64

            iVBORw0KGgo=
            --rel--
            --outer
            Content-Type: application/pdf; name="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="
            Content-Disposition: attachment
            Content-Transfer-Encoding: base64

            JVBERi0=
            --outer
            Content-Type: text/plain
            Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; filename*1=".txt"

            euro
            --outer--
            """)
        let attachments = message.attachments()
        #expect(attachments.map(\.filename) == [nil, "résumé.pdf", "€.txt"])
        #expect(attachments[0].contentID == "logo@x")
        #expect(attachments[0].isInline)
        #expect(attachments[0].size == 8)
        #expect(attachments[1].contentType == "application/pdf")
        #expect(attachments[1].size == 5)
        #expect(!attachments[1].isInline)
        #expect(attachments[2].sectionPath == [3])
        #expect(message.summary().htmlBody == "<img src=\"cid:logo@x\">")
    }

    static let transferVectors: [(String, String, String)] = [
        ("base64", "SGVsbG8sIHdvcmxkIQ==", "Hello, world!"),
        ("base64", "SGVsbG8s\r\nIHdvcmxkIQ", "Hello, world!"),
        ("base64", "SGVs!!bG8=", "Hello"),
        ("quoted-printable", "a=3Db=\r\nc", "a=bc"),
        ("quoted-printable", "trailing   \r\nnext", "trailing\r\nnext"),
        ("quoted-printable", "bad =ZZ escape = end", "bad =ZZ escape = end"),
        ("quoted-printable", "lower=c3=a9", "loweré"),
        ("quoted-printable", "soft= \r\nbreak", "softbreak"),
        ("7bit", "as is", "as is"),
    ]

    @Test(arguments: transferVectors)
    func transferDecoding(encoding: String, body: String, expected: String) {
        let message = Fixture.message("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: \(encoding)\n\n")
        let raw = Fixture.crlf("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: \(encoding)\n\n") + Array(body.utf8)
        _ = message
        let parsed = MIMEMessage.parse(raw)
        #expect(parsed.text(of: parsed.root).text == expected)
    }

    @Test func eightBitHeaderIsReadAsUTF8OrLatin1() {
        let utf8 = MIMEMessage.parse(Array("Subject: caf\u{e9}\r\n\r\n".utf8))
        #expect(utf8.subject() == "café")
        let latin1 = MIMEMessage.parse(Array("Subject: caf".utf8) + [0xE9] + Array("\r\n\r\n".utf8))
        #expect(latin1.subject() == "café")
    }

    @Test func unknownBodyCharsetIsReported() {
        let message = Fixture.message("Content-Type: text/plain; charset=x-martian\n\nhello")
        #expect(message.text(of: message.root).text == "hello")
        #expect(!message.summary().allCharsetsRecognized)
    }

    /// Fuzzer findings: inputs that once trapped.
    @Test(arguments: ["<", "a <", "<b", "&#xFFFFFFFF;", "<!--", "<script>", "&;"])
    func htmlEdgeCases(html: String) {
        _ = HTMLText.visibleText(html)
    }
}
