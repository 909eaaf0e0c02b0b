import MIME
import Testing

@testable import MailPipeline

/// What a submitted message becomes before it is stored and queued (RFC 6409 8, RFC 5322 3.6.3).
@Suite struct SubmittedMessageTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func submissionKeepsBccInSentAndDropsItFromWhatIsTransmitted() {
        let message = Self.bytes("""
            From: agent@example.com\r
            To: bob@example.org\r
            Bcc: hidden@example.net,\r
             second@example.net\r
            Subject: Hi\r
            Message-ID: <kept@example.com>\r
            Date: Thu, 26 Nov 2026 10:00:00 +0000\r
            \r
            Bcc: in the body stays\r

            """)
        let prepared = SubmittedMessage(message, parsed: MIMEMessage(parsing: message), domain: "example.com")
        #expect(prepared.sentCopy == message)
        let transmitted = String(decoding: prepared.transmit, as: UTF8.self)
        #expect(!transmitted.contains("hidden@example.net") && !transmitted.contains("second@example.net"))
        #expect(transmitted.contains("To: bob@example.org\r\nSubject: Hi\r\n"))
        #expect(transmitted.hasSuffix("\r\nBcc: in the body stays\r\n"))
    }

    @Test func submissionGetsAMessageIDAndADateWhenItLacksThem() {
        let message = Self.bytes("From: agent@example.com\r\nTo: bob@example.org\r\nSubject: Hi\r\n\r\nbody\r\n")
        let prepared = SubmittedMessage(message, parsed: MIMEMessage(parsing: message), domain: "example.com")
        let parsed = MIMEMessage(parsing: prepared.sentCopy)
        #expect(parsed.messageID()?.hasSuffix("@example.com") == true)
        #expect(parsed.date() != nil)
        #expect(MIMEMessage(parsing: prepared.transmit).messageID() == parsed.messageID())
        #expect(prepared.sentCopy.suffix(message.count).elementsEqual(message))
    }
}
