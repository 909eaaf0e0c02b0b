import NIOCore
import Testing
@testable import SMTPGrammar

/// Framing of command lines (RFC 5321 sections 2.3.8 and 4.1.1, RFC 2920 pipelining).
@Suite("line reader")
struct LineReaderTests {
    func lines(_ outcomes: [SMTPLineReader.Outcome]) -> [String] {
        outcomes.map {
            if case .line(let line) = $0 { return line.text }
            return "<\($0)>"
        }
    }

    @Test func crlfAndBareLineFeed() {
        var reader = SMTPLineReader()
        #expect(lines(readLines(&reader, ["EHLO a\r\nNOOP\nQUIT\r\n"])) == ["EHLO a", "NOOP", "QUIT"])
    }

    @Test func bareCarriageReturnIsNotALineEnd() {
        var reader = SMTPLineReader()
        #expect(lines(readLines(&reader, ["NOOP\rQUIT\r\n"])) == ["NOOP\rQUIT"])
        // The parser then refuses the control character.
        #expect(parseError("NOOP\rQUIT")?.kind == .unrecognizedCommand)
        #expect(parseError("NOOP x\ry")?.kind == .invalidArguments)
    }

    @Test func emptyLines() {
        var reader = SMTPLineReader()
        #expect(lines(readLines(&reader, ["\r\n\n"])) == ["", ""])
    }

    @Test func pipelinedGroupSplitAtEveryOffset() {
        // RFC 2920 section 3.2: a pipelined transaction.
        let group = Array("MAIL FROM:<mrose@dbc.mtview.ca.us>\r\nRCPT TO:<ned@innosoft.com>\r\nRCPT TO:<dan@innosoft.com>\r\nRCPT TO:<kvc@innosoft.com>\r\nDATA\r\n".utf8)
        let expected = ["MAIL FROM:<mrose@dbc.mtview.ca.us>", "RCPT TO:<ned@innosoft.com>", "RCPT TO:<dan@innosoft.com>",
                        "RCPT TO:<kvc@innosoft.com>", "DATA"]
        for first in 0...group.count {
            for second in stride(from: first, through: group.count, by: 5) {
                var reader = SMTPLineReader()
                let chunks = split(group, at: [first, second]).map { String(decoding: $0, as: UTF8.self) }
                #expect(lines(readLines(&reader, chunks)) == expected)
            }
        }
    }

    @Test func contentAfterDataStaysInTheBuffer() {
        // The reader takes one line per call; the message after DATA is for the data decoder.
        var reader = SMTPLineReader()
        var buffer = ByteBuffer(string: "DATA\r\nSubject: x\r\n\r\n.\r\n")
        #expect(reader.next(&buffer) == .line(ByteBuffer(string: "DATA")))
        #expect(buffer.text == "Subject: x\r\n\r\n.\r\n")
        var decoder = SMTPDataDecoder()
        var content = ByteBuffer()
        while case .content(var chunk) = decoder.next(&buffer) { content.writeBuffer(&chunk) }
        #expect(content.text == "Subject: x\r\n\r\n")
        #expect(buffer.readableBytes == 0)
    }

    @Test func resetForgetsAPartialLine() {
        var reader = SMTPLineReader()
        reader.mode = .saslResponse
        #expect(readLines(&reader, ["EHLO inject"]).isEmpty)
        reader.reset()
        #expect(reader.mode == .command)
        #expect(lines(readLines(&reader, ["EHLO real\r\n"])) == ["EHLO real"])
    }

    @Test func readerAndParserTogether() throws {
        var reader = SMTPLineReader()
        let parser = SMTPCommandParser()
        var buffer = ByteBuffer(string: "EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@d.example>\r\nBDAT 5 LAST\r\nhello")
        var commands: [SMTPCommand] = []
        while case .line(let line) = reader.next(&buffer) {
            let command = try parser.parse(line)
            commands.append(command)
            if case .bdat = command { break }
        }
        #expect(commands == [
            .ehlo("client.example"),
            .mailFrom(reversePath: mailbox("a@b.example"), parameters: MailParameters(size: 10)),
            .rcptTo(forwardPath: mailbox("c@d.example"), parameters: RcptParameters()),
            .bdat(size: 5, last: true),
        ])
        #expect(buffer.text == "hello")
    }
}
