import NIOCore
import Testing
@testable import SMTPGrammar

/// Random input never crashes the grammar, every call makes progress, and the reader and
/// decoders never hold more than their limits.
@Suite("fuzz")
struct FuzzTests {
    static let fragments: [String] = [
        "MAIL FROM:", "RCPT TO:", "<", ">", "<>", "@", ".", "..", "\"", "\\", "[", "]", "IPv6:", "::", "1.2.3.4",
        "EHLO", "DATA", "BDAT", "AUTH", "PLAIN", "LOGIN", "=", "SIZE=", "BODY=", "SMTPUTF8", "NOTIFY=", "ORCPT=",
        " ", "  ", "\r\n", "\n", "\r", "\r\n.\r\n", "\u{0}", "\u{FF}", "用", "é", "9999999999999999999999", "LAST",
        "a", "example.com", "postmaster", "dGVzdA==", "*", ",", ":", "+2B", "-",
    ]

    func randomInput(_ generator: inout SeededGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...40, using: &generator) {
            if Int.random(in: 0..<8, using: &generator) == 0 {
                bytes.append(UInt8.random(in: 0...255, using: &generator))
            } else {
                bytes += Array(Self.fragments.randomElement(using: &generator)!.utf8)
            }
        }
        return bytes
    }

    @Test func parserAndReaderSurviveRandomInput() {
        var generator = SeededGenerator(state: 4954)
        let limits = SMTPLimits(maxCommandLineLength: 64, maxMailCommandLineLength: 96, maxAuthLineLength: 128)
        let parser = SMTPCommandParser(limits: limits)
        for _ in 0..<3_000 {
            let input = randomInput(&generator)
            var reader = SMTPLineReader(limits: limits)
            var buffer = ByteBuffer(bytes: input)
            var calls = 0
            while true {
                let outcome = reader.next(&buffer)
                calls += 1
                #expect(calls <= input.count + 1, "the reader stopped making progress")
                guard case .line(let line) = outcome else {
                    if outcome == .needsMoreData { #expect(buffer.readableBytes == 0) }
                    if outcome == .needsMoreData { break }
                    continue
                }
                #expect(line.readableBytes + 2 <= limits.maxAuthLineLength)
                // Whatever the outcome, it is a command or an error with a reply.
                do {
                    var written = ByteBuffer()
                    try parser.parse(line).write(into: &written)
                    #expect(written.readableBytes > 0)
                } catch {
                    #expect((500...555).contains(error.reply.code))
                }
            }
        }
    }

    @Test func dataDecoderSurvivesRandomInput() {
        var generator = SeededGenerator(state: 3030)
        for _ in 0..<3_000 {
            let input = randomInput(&generator)
            let offsets = (0..<3).map { _ in Int.random(in: 0...input.count, using: &generator) }.sorted()
            let limits = SMTPLimits(maxMessageSize: 32)
            let decoded = decodeData(split(input, at: offsets), limits: limits)
            let whole = decodeData([input], limits: limits)
            let unbounded = decodeData([input])
            #expect(decoded.content.count <= 32)
            // Splitting never changes where the data ends or what it was.
            #expect(decoded.summary == whole.summary)
            #expect(decoded.leftover == whole.leftover)
            // What is handed out is always a prefix of the content, and all of it when the
            // message is within the maximum.
            #expect(unbounded.content.starts(with: decoded.content))
            if decoded.summary?.exceedsMaximumSize == false {
                #expect(decoded.content == unbounded.content)
            }
        }
    }

    @Test func replyParserSurvivesRandomInput() {
        var generator = SeededGenerator(state: 2034)
        let fragments = ["250", "-", " ", "2.0.0", "5.1.1", "\r\n", "\n", "OK", "550", "354", "x", "\u{0}"]
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...20, using: &generator) { text += fragments.randomElement(using: &generator)! }
            var parser = SMTPReplyParser(limits: SMTPLimits(maxReplyLineLength: 32, maxReplyLines: 4))
            var buffer = ByteBuffer(string: text)
            while buffer.readableBytes > 0 {
                do {
                    guard let reply = try parser.parse(&buffer) else { break }
                    #expect(reply.lines.count <= 4)
                } catch {
                    continue
                }
            }
            #expect(buffer.readableBytes == 0)
        }
    }
}
