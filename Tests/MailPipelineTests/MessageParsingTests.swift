import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
        #expect(await MessageParsing.facts(of: message, parsedFrom: bytes) == expected)
    }

    @Test func onlyCostlyWorkLeavesTheCallersThread() async {
        let caller = pthread_self()
        let inline = await MessageParsing.run(offLoop: false) { pthread_equal(pthread_self(), caller) != 0 }
        #expect(inline)
        let pooled = await MessageParsing.run(offLoop: true) { (pthread_equal(pthread_self(), caller) != 0, Self.threadName()) }
        #expect(!pooled.0)
        #if os(Linux)
        // NIO names its thread pool's threads "...TP-#<n>".
        #expect(pooled.1.contains("TP-#"), "ran on \(pooled.1)")
        #endif
    }

    /// Large, or many lines that may be boundaries: parsed on the pool; anything else inline.
    @Test func costIsJudgedBySizeAndBoundaryLines() {
        #expect(!MessageParsing.isCostly(Self.message(attachmentBytes: 1_000)))
        #expect(MessageParsing.isCostly(Self.message(attachmentBytes: 300_000)))
        let parts = (0..<MessageParsing.offLoopBoundaryLines).map { "--b\r\nContent-Type: text/plain\r\n\r\npart \($0)\r\n" }.joined()
        let header = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        #expect(!MessageParsing.isCostly(Array((header + parts).utf8)), "one boundary line per part, and no closing one")
        #expect(MessageParsing.isCostly(Array((header + parts + "--b--\r\n").utf8)))
        #expect(!MessageParsing.isCostly([]))
        #expect(!MessageParsing.isCostly(Array("--\n--".utf8)), "the first line follows no line break")
    }
}
