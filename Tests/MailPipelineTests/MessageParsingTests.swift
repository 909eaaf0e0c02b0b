import Foundation
import MIME
import MailCore
import Testing
@testable import MailPipeline

/// Large messages are parsed on NIO's thread pool, small ones where they are, with the same result.
@Suite struct MessageParsingTests {
    /// A message with a text part and a base64 attachment of about `attachmentBytes`.
    static func message(attachmentBytes: Int) -> [UInt8] {
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\r\n"
        let attachment = String(repeating: line, count: max(1, attachmentBytes / line.utf8.count))
        let text = """
            From: Ann <ann@example.com>\r
            To: Bob <bob@example.net>\r
            Subject: the plans\r
            Message-ID: <plans@example.com>\r
            Date: Mon, 07 Dec 2026 10:00:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Here they are.\r
            --b1\r
            Content-Type: application/octet-stream; name="plans.bin"\r
            Content-Transfer-Encoding: base64\r
            Content-Disposition: attachment; filename="plans.bin"\r
            \r
            \(attachment)--b1--\r

            """
        return Array(text.utf8)
    }

    /// The name of the thread that runs the caller (Linux).
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: [1_000, 1 << 20])
    func parsesAsTheParserDoes(_ attachmentBytes: Int) async {
        let bytes = Self.message(attachmentBytes: attachmentBytes)
        #expect((attachmentBytes >= MessageParsing.offLoopBytes) == (bytes.count >= MessageParsing.offLoopBytes))
        let expected = MessageFacts(parsing: MIMEMessage(parsing: bytes))
        let (message, facts) = await MessageParsing.messageAndFacts(bytes)
        #expect(facts == expected)
        #expect(facts.subject == "the plans" && facts.hasAttachments)
        #expect(MessageFacts(parsing: await MessageParsing.message(bytes)) == expected)
        #expect(await MessageParsing.facts(of: message, size: bytes.count) == expected)
    }

    @Test func onlyLargeMessagesLeaveTheCallersThread() async {
        let caller = Self.threadName()
        let small = await MessageParsing.run(size: MessageParsing.offLoopBytes - 1) { Self.threadName() }
        #expect(small == caller)
        let large = await MessageParsing.run(size: MessageParsing.offLoopBytes) { Self.threadName() }
        // NIO names its thread pool's threads "...TP-#<n>".
        #expect(large.contains("TP-#"), "ran on \(large)")
    }
}
