import NIOCore
import Testing
@testable import SMTPGrammar

/// Whole exchanges through the reader, parser, decoders and writer together.
@Suite("transcripts")
struct TranscriptTests {
    /// What a server does with each command of a transcript, kept small: enough to show the
    /// pieces hand the connection's bytes to one another correctly.
    struct Server {
        var reader = SMTPLineReader()
        let parser = SMTPCommandParser()
        let writer = SMTPReplyWriter()
        var data: SMTPDataDecoder?
        var bdat = BDATDecoder()
        var commands: [SMTPCommand] = []
        var messages: [String] = []
        var message = ByteBuffer()
        var output = ByteBuffer()

        mutating func reply(_ reply: SMTPReply) {
            writer.write(reply, into: &output)
        }

        mutating func receive(_ input: inout ByteBuffer) {
            while input.readableBytes > 0 {
                if var decoder = data {
                    let event = decoder.next(&input)
                    data = decoder
                    switch event {
                    case .content(var chunk): message.writeBuffer(&chunk)
                    case .needsMoreData: return
                    case .end:
                        data = nil
                        messages.append(message.text)
                        message.clear()
                        reply(.ok)
                    }
                    continue
                }
                if bdat.isReadingChunk {
                    switch bdat.next(&input) {
                    case .content(var chunk): message.writeBuffer(&chunk)
                    case .needsMoreData: return
                    case .chunkEnd(let last, let summary):
                        if last {
                            messages.append(message.text)
                            message.clear()
                        }
                        reply(.ok("\(summary.byteCount) octets received"))
                    }
                    continue
                }
                switch reader.next(&input) {
                case .needsMoreData: return
                case .lineTooLong: reply(.lineTooLong)
                case .line(let line):
                    do {
                        let command = try parser.parse(line)
                        commands.append(command)
                        switch command {
                        case .ehlo(let client):
                            reply(.ehlo(domain: "foo.com", greeting: "greets \(client)", extensions: ["8BITMIME", "SIZE", "CHUNKING"]))
                        case .mailFrom: reply(.senderOK)
                        case .rcptTo(let path, _):
                            reply(path.address?.localPart == "Green" ? .noSuchUser : .recipientOK)
                        case .data:
                            reply(.startMailInput)
                            data = SMTPDataDecoder()
                        case .bdat(let size, let last):
                            bdat.beginChunk(size: size, last: last)
                        case .quit: reply(.bye)
                        default: reply(.ok)
                        }
                    } catch {
                        reply(error.reply)
                    }
                }
            }
        }
    }

    func run(_ client: String, splitEvery step: Int) -> Server {
        var server = Server()
        server.reply(.greeting(domain: "foo.com"))
        let bytes = Array(client.utf8)
        var offset = 0
        while offset < bytes.count {
            var buffer = ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + step)])
            server.receive(&buffer)
            #expect(buffer.readableBytes == 0)
            offset += step
        }
        return server
    }

    /// RFC 5321 appendix D.1, pipelined in one stream.
    static let typicalTransaction = """
        EHLO bar.com\r
        MAIL FROM:<Smith@bar.com>\r
        RCPT TO:<Jones@foo.com>\r
        RCPT TO:<Green@foo.com>\r
        RCPT TO:<Brown@foo.com>\r
        DATA\r
        Blah blah blah...\r
        ...etc. etc. etc.\r
        .\r
        QUIT\r

        """

    @Test("RFC 5321 D.1 in chunks of every size", arguments: [1, 2, 3, 7, 64, 4096])
    func typicalTransaction(_ step: Int) {
        let server = run(Self.typicalTransaction, splitEvery: step)
        #expect(server.commands.map(\.verb) == ["EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"])
        #expect(server.messages == ["Blah blah blah...\r\n..etc. etc. etc.\r\n"])
        #expect(server.output.text == """
            220 foo.com ESMTP\r
            250-foo.com greets bar.com\r
            250-8BITMIME\r
            250-SIZE\r
            250 CHUNKING\r
            250 2.1.0 Sender OK\r
            250 2.1.5 Recipient OK\r
            550 5.1.1 No such user\r
            250 2.1.5 Recipient OK\r
            354 End data with <CR><LF>.<CR><LF>\r
            250 2.0.0 OK\r
            221 2.0.0 Bye\r

            """)
    }

    /// RFC 3030 section 4.1, with a malformed line and a second, chunked message.
    @Test("RFC 3030 chunking in chunks of every size", arguments: [1, 5, 13, 4096])
    func chunking(_ step: Int) {
        let client = "EHLO ymir.claremont.edu\r\nMAIL FROM:<Sam@Random.com>\r\nRCPT TO:<Susan@Random.com>\r\n"
            + "BDAT 86 LAST\r\nTo: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: This is a bodyless test message\r\n"
            + "FOO\r\nMAIL FROM:<Sam@Random.com>\r\nRCPT TO:<Susan@Random.com>\r\nBDAT 5\r\nHELLOBDAT 8 LAST\r\n, world!QUIT\r\n"
        let server = run(client, splitEvery: step)
        #expect(server.messages == [
            "To: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: This is a bodyless test message\r\n",
            "HELLO, world!",
        ])
        #expect(server.output.text.contains("250 2.0.0 86 octets received\r\n500 5.5.2 Syntax error, command unrecognized\r\n"))
        #expect(server.output.text.hasSuffix("250 2.0.0 5 octets received\r\n250 2.0.0 13 octets received\r\n221 2.0.0 Bye\r\n"))
    }
}
