import Testing
@testable import MIME

/// What the builder makes, the parser reads back to the same content.
@Suite struct BuilderTests {
    static func baseBuilder() -> MessageBuilder {
        var builder = MessageBuilder()
        builder.from = [Mailbox(displayName: "Zoë Bäcker", address: "zoe@example.com")!]
        builder.to = [Mailbox(displayName: "Bob", address: "bob@example.org")!,
                      Mailbox(displayName: "Smith, Jane", address: "jane@example.org")!]
        builder.cc = [Mailbox(address: "carol@example.net")!]
        builder.bcc = [Mailbox(address: "secret@example.net")!]
        builder.subject = "Café at 10? — a rather long subject line that certainly needs folding across lines"
        builder.inReplyTo = ["parent@example.com"]
        builder.references = ["root@example.com", "parent@example.com"]
        return builder
    }

    /// Bodies with LF line ends; the builder sends CRLF, so compare after normalizing.
    static let bodies: [(String?, String?)] = [
        ("Plain ASCII text.\nSecond line.", nil),
        (nil, "<p>Only <b>HTML</b></p>"),
        ("Grüße aus Köln\nmit Umlauten", "<p>Grüße</p>"),
        ("日本語のテキスト。これは全部非ASCIIです。", nil),
        (String(repeating: "x", count: 2_000), nil),
        ("=?utf-8?q?not_a_word?= and a line starting\nFrom here\n.dot", nil),
    ]

    @Test(arguments: 0..<bodies.count)
    func roundTrip(index: Int) {
        var builder = Self.baseBuilder()
        builder.textBody = Self.bodies[index].0
        builder.htmlBody = Self.bodies[index].1
        let bytes = builder.build()
        Self.checkLineLengths(bytes)
        let message = MIMEMessage.parse(bytes)
        let summary = message.summary()
        #expect(summary.subject == builder.subject)
        #expect(summary.from.map(\.displayName) == ["Zoë Bäcker"])
        #expect(summary.from.map(\.address) == ["zoe@example.com"])
        #expect(summary.to.map(\.displayName) == ["Bob", "Smith, Jane"])
        #expect(summary.to.map(\.address) == ["bob@example.org", "jane@example.org"])
        #expect(summary.cc.map(\.address) == ["carol@example.net"])
        #expect(summary.bcc.isEmpty)
        #expect(summary.messageID != nil)
        #expect(summary.date != nil)
        #expect(summary.inReplyTo == ["parent@example.com"])
        #expect(summary.references == ["root@example.com", "parent@example.com"])
        let crlf = { (text: String?) in text.map { String(decoding: Fixture.crlf($0), as: UTF8.self) } }
        // A single-part message gains the final CRLF every message ends with.
        let trimmed = { (text: String?) -> String? in
            guard let text else { return nil }
            return text.hasSuffix("\r\n") ? String(text.dropLast(1)) : text  // "\r\n" is one Character
        }
        #expect(trimmed(summary.textBody) == crlf(Self.bodies[index].0))
        #expect(trimmed(summary.htmlBody) == crlf(Self.bodies[index].1))
    }

    @Test(arguments: [MIMELimits.maximumLineLength, MIMELimits.maximumLineLength + 1])
    func lineLengthLimit(length: Int) {
        let line = Array(repeating: UInt8(ascii: "x"), count: length)
        let expected = length <= MIMELimits.maximumLineLength ? "7bit" : "quoted-printable"
        #expect(MessageBuilder.chooseEncoding(line) == expected)
        var builder = MessageBuilder()
        builder.textBody = String(decoding: line, as: UTF8.self)
        Self.checkLineLengths(builder.build())
    }

    @Test func bccOnlyInSentCopy() {
        var builder = Self.baseBuilder()
        builder.textBody = "x"
        builder.prepareForSending()
        let transmitted = MIMEMessage.parse(builder.build())
        let saved = MIMEMessage.parse(builder.build(includeBcc: true))
        #expect(transmitted.fields(named: "Bcc").isEmpty)
        #expect(saved.summary().bcc.map(\.address) == ["secret@example.net"])
        #expect(transmitted.messageID() == saved.messageID())
        #expect(transmitted.messageID() == builder.messageID)
    }

    @Test func attachmentsAndInlineParts() {
        var builder = Self.baseBuilder()
        builder.textBody = "See attached."
        builder.htmlBody = "<img src=\"cid:logo@example.com\">"
        let binary = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        builder.attachments = [
            .init(filename: "logo.png", contentType: "image/png", data: [0x89, 0x50, 0x4E, 0x47], contentID: "logo@example.com", isInline: true),
            .init(filename: "résumé très long nom de fichier avec beaucoup de caractères accentués éèêë.pdf",
                  contentType: "application/pdf", data: binary),
            .init(filename: "plain.txt", contentType: "text/plain", data: Array("hello".utf8)),
        ]
        let bytes = builder.build()
        Self.checkLineLengths(bytes)
        let message = MIMEMessage.parse(bytes)
        #expect(Fixture.shape(message.root)
                == "multipart/mixed(multipart/related(multipart/alternative(text/plain,text/html),image/png),application/pdf,text/plain)")
        let attachments = message.attachments()
        #expect(attachments.map(\.filename) == ["logo.png", builder.attachments[1].filename, "plain.txt"])
        #expect(attachments[0].contentID == "logo@example.com")
        #expect(attachments[0].isInline)
        #expect(attachments[1].size == binary.count)
        #expect(message.binary(section: [2]) == .content(binary))
        #expect(message.binary(section: [1, 2]) == .content([0x89, 0x50, 0x4E, 0x47]))
        let summary = message.summary()
        #expect(summary.textBody == "See attached.")
        #expect(summary.htmlBody == builder.htmlBody)
    }

    @Test func existingIdentityIsKept() {
        var builder = MessageBuilder()
        builder.messageID = "fixed@example.com"
        builder.date = MessageDate(secondsSince1970: 880_127_706, utcOffsetMinutes: -360)
        builder.textBody = "x"
        let message = MIMEMessage.parse(builder.build())
        #expect(message.messageID() == "fixed@example.com")
        #expect(message.header("Date") == "Fri, 21 Nov 1997 09:55:06 -0600")
    }

    static func checkLineLengths(_ bytes: [UInt8]) {
        var length = 0
        for byte in bytes {
            if byte == 0x0A { length = 0; continue }
            length += 1
            if length > MIMELimits.maximumLineLength + 1 { Issue.record("line longer than 998 octets"); return }
        }
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
    }

    @Test func headerInjectionIsImpossible() {
        var builder = MessageBuilder()
        builder.from = [Mailbox(displayName: "Eve\r\nBcc: victim@example.com", localPart: "eve", domain: "example.com")]
        builder.subject = "Hi\r\nX-Injected: yes"
        builder.extraHeaders = [.init(name: "X-Custom\r\nX-Other", value: "v\nX-More: 1")]
        builder.attachments = [.init(filename: "a\r\nb.txt", contentType: "text/plain", data: [0x61])]
        let message = MIMEMessage.parse(builder.build())
        #expect(message.fields(named: "Bcc").isEmpty)
        #expect(message.fields(named: "X-Injected").isEmpty)
        #expect(message.fields(named: "X-More").isEmpty)
        #expect(message.fields(named: "X-Other").isEmpty)
        #expect(message.summary().from.first?.displayName?.contains("victim@example.com") == true)
    }
}
