import MIME
import Testing

@testable import SMTPServer

/// The SMTP server's pure parts: the bounce, the dot-stuffing of the smart host client.
@Suite struct SMTPServerPartsTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func bounceIsAMultipartReportWithTheStatusOfEachRecipient() {
        let original = Self.bytes("From: agent@example.com\r\nTo: x@example.org\r\nSubject: Plans\r\nMessage-ID: <orig@example.com>\r\n\r\nhello\r\n")
        let report = DeliveryStatusNotification(
            reportingHost: "mail.us.example", sender: "agent@example.com", originalMessage: original, arrivalDate: 1_795_000_000,
            failed: [.init(address: "x@example.org", status: "5.1.1", diagnostic: "550 5.1.1 no such user\r\ninjected: header")],
            messageID: "dsn-7-1@mail.us.example").build()
        let parsed = MIMEMessage(parsing: report)
        #expect(parsed.root.contentType.mimeType == "multipart/report")
        #expect(parsed.root.contentType.parameters.value(of: "report-type") == "delivery-status")
        #expect(parsed.root.children.map(\.contentType.mimeType) == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        let status = String(decoding: parsed.decodedBody(of: parsed.root.children[1]), as: UTF8.self)
        #expect(status.contains("Reporting-MTA: dns; mail.us.example\r\n"))
        #expect(status.contains("Final-Recipient: rfc822; x@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"))
        #expect(!status.contains("\r\ninjected: header"), "a remote diagnostic stays on one line")
        let headers = String(decoding: parsed.decodedBody(of: parsed.root.children[2]), as: UTF8.self)
        #expect(headers.contains("Message-ID: <orig@example.com>") && !headers.contains("hello"))
        #expect(parsed.messageID() == "dsn-7-1@mail.us.example" && parsed.header("Auto-Submitted") == "auto-replied")
    }

    @Test(arguments: [
        ("a\r\nb\r\n", "a\r\nb\r\n.\r\n"),
        (".leading\r\n", "..leading\r\n.\r\n"),
        ("x\r\n.\r\ny", "x\r\n..\r\ny\r\n.\r\n"),
        ("", ".\r\n"),
        ("no line end", "no line end\r\n.\r\n"),
    ])
    func dataIsDotStuffedAndTerminated(message: String, wire: String) {
        #expect(SmartHostClient.dotStuffed(Self.bytes(message)) == Self.bytes(wire))
    }
}
