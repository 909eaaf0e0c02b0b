import NIOCore
import Testing
@testable import SMTPGrammar

/// Every bound of ``SMTPLimits`` and of the grammar, at the limit (accepted) and one past it
/// (refused with the documented reply).
@Suite("limits")
struct LimitTests {
    /// A line of `length` octets with its CRLF: `prefix` padded with `x`.
    func line(_ prefix: String, length: Int, padding: Character = "x") -> String {
        prefix + String(repeating: padding, count: length - prefix.utf8.count - 2)
    }

    /// A domain of `length` octets made of labels of at most 63 octets.
    func domain(length: Int) -> String {
        var text = ""
        while text.utf8.count < length {
            if !text.isEmpty { text += "." }
            let room = length - text.utf8.count
            // Never leave exactly one octet after a full label: it would be a trailing dot.
            let label = room > 63 ? (room == 64 ? 62 : 63) : room
            text += String(repeating: "d", count: label)
        }
        return text
    }

    // MARK: - command lines (RFC 5321 section 4.5.3.1.4)

    @Test func commandLineAtLimit() throws {
        #expect(SMTPLimits.default.maxCommandLineLength == 512)
        #expect(try SMTPCommandParser().parse(line("NOOP ", length: 512)) == .noop)
        var reader = SMTPLineReader()
        let outcomes = readLines(&reader, [line("NOOP ", length: 512) + "\r\n"])
        #expect(outcomes.count == 1)
        if case .line(let read)? = outcomes.first { #expect(read.readableBytes == 510) }
    }

    @Test func commandLineOnePastLimit() {
        let error = parseError(line("NOOP ", length: 513))
        #expect(error?.kind == .lineTooLong)
        #expect(error?.reply == SMTPReply(code: 500, enhancedStatusCode: .init(5, 5, 6), "Line too long"))
        var reader = SMTPLineReader()
        // The over-long line is reported once, and the next line is read normally.
        #expect(readLines(&reader, [line("NOOP ", length: 513) + "\r\nQUIT\r\n"]) == [.lineTooLong, .line(ByteBuffer(string: "QUIT"))])
    }

    @Test func bareLineFeedLinesHaveTheSameLimit() {
        var reader = SMTPLineReader()
        // 510 octets + LF is 512 counted as if with CRLF; 511 + LF is one past.
        #expect(readLines(&reader, [line("NOOP ", length: 512) + "\n"]).count == 1)
        #expect(readLines(&reader, [line("NOOP ", length: 513) + "\n"]) == [.lineTooLong])
    }

    @Test func overLongLineWithoutEndIsDiscardedAsItArrives() {
        var reader = SMTPLineReader()
        // 511 octets without an LF: with its CRLF the line can no longer fit.
        var buffer = ByteBuffer(string: String(repeating: "x", count: 511))
        #expect(reader.next(&buffer) == .needsMoreData)
        #expect(buffer.readableBytes == 0)
        // However much more arrives, nothing is held; the report comes with the line's end.
        for _ in 0..<100 {
            var more = ByteBuffer(string: String(repeating: "y", count: 10_000))
            #expect(reader.next(&more) == .needsMoreData)
        }
        #expect(readLines(&reader, ["tail\r\nRSET\r\n"]) == [.lineTooLong, .line(ByteBuffer(string: "RSET"))])
    }

    @Test func lineEndingInCRAtLimitIsStillAccepted() {
        // 510 octets and a CR: the LF still to come makes exactly 512.
        var reader = SMTPLineReader()
        #expect(readLines(&reader, [line("NOOP ", length: 512) + "\r", "\n"]).count == 1)
        #expect(readLines(&reader, [line("NOOP ", length: 513) + "\r", "\n"]) == [.lineTooLong])
    }

    @Test func mailAndRcptLinesAtAndPastTheirLimit() throws {
        #expect(SMTPLimits.default.maxMailCommandLineLength == 2048)
        for verb in ["MAIL FROM:<a@b.example> X=", "RCPT TO:<a@b.example> X="] {
            #expect(parsedCommand(line(verb, length: 2048)) != nil)
            #expect(parseError(line(verb, length: 2049))?.kind == .lineTooLong)
            var reader = SMTPLineReader()
            #expect(readLines(&reader, [line(verb, length: 2048) + "\r\n"]).count == 1)
            #expect(readLines(&reader, [line(verb, length: 2049) + "\r\n"]) == [.lineTooLong])
        }
        // Other commands keep the 512 limit.
        #expect(parseError(line("VRFY ", length: 513))?.kind == .lineTooLong)
    }

    @Test func authLinesAtAndPastTheirLimit() throws {
        #expect(SMTPLimits.default.maxAuthLineLength == 12_288)
        // "AUTH ABCD " is 10 octets; 12276 base64 octets and CRLF make 12288.
        let response = String(repeating: "QUJD", count: 12_276 / 4)
        let atLimit = "AUTH ABCD " + response
        #expect(atLimit.utf8.count + 2 == 12_288)
        #expect(try SMTPCommandParser().parse(atLimit) == .auth(mechanism: "ABCD", initialResponse: .data(Array(repeating: Array("ABC".utf8), count: 3069).flatMap { $0 })))
        #expect(parseError(atLimit + "x")?.kind == .lineTooLong)
        var reader = SMTPLineReader()
        #expect(readLines(&reader, [atLimit + "\r\n"]).count == 1)
        #expect(readLines(&reader, [atLimit + "x\r\n"]) == [.lineTooLong])
    }

    @Test func saslResponseLinesAtAndPastTheirLimit() {
        var reader = SMTPLineReader()
        reader.mode = .saslResponse
        let atLimit = String(repeating: "A", count: 12_286)
        #expect(readLines(&reader, [atLimit + "\r\n"]).count == 1)
        #expect(readLines(&reader, [atLimit + "A\r\n"]) == [.lineTooLong])
        // In command mode the same line is far too long.
        reader.mode = .command
        #expect(readLines(&reader, [atLimit + "\r\n"]) == [.lineTooLong])
    }

    @Test func configuredCommandLineLimit() {
        let limits = SMTPLimits(maxCommandLineLength: 20, maxMailCommandLineLength: 30, maxAuthLineLength: 40)
        #expect(parsedCommand(line("NOOP ", length: 20), limits: limits) == .noop)
        #expect(parseError(line("NOOP ", length: 21), limits: limits)?.kind == .lineTooLong)
        #expect(parsedCommand(line("RCPT TO:<a@b.example> X=", length: 30), limits: limits) != nil)
        #expect(parseError(line("RCPT TO:<a@b.example> X=", length: 31), limits: limits)?.kind == .lineTooLong)
        #expect(parseError(line("AUTH PLAIN ", length: 41, padding: "A"), limits: limits)?.kind == .lineTooLong)
    }

    // MARK: - addresses (RFC 5321 sections 4.5.3.1.1 to 4.5.3.1.3, RFC 1035)

    @Test func localPartAtAndPastLimit() throws {
        let local64 = String(repeating: "l", count: 64)
        #expect(try SMTPAddress(parsing: "\(local64)@b.example").localPart == local64)
        let error = parseError("MAIL FROM:<\(local64)l@b.example>")
        #expect(error?.kind == .invalidSenderAddress(.localPartTooLong))
        #expect(error?.reply.code == 501)
        #expect(error?.reply.enhancedStatusCode == .init(5, 1, 7))
        #expect(error?.message == "Bad sender address syntax: local part longer than 64 octets")
        // The quotes count: 62 octets inside quotes are 64 as sent.
        let quoted62 = "\"" + String(repeating: "q", count: 62) + "\""
        #expect(throws: Never.self) { try SMTPAddress(parsing: "\(quoted62)@b.example") }
        #expect(throws: SMTPAddressError(.localPartTooLong, "local part longer than 64 octets")) {
            try SMTPAddress(parsing: "\"" + String(repeating: "q", count: 63) + "\"@b.example")
        }
        // UTF-8 counts in octets: 21 three-octet characters are 63, 22 are 66.
        #expect(throws: Never.self) { try SMTPAddress(parsing: String(repeating: "用", count: 21) + "@b.example") }
        #expect(throws: SMTPAddressError.self) { try SMTPAddress(parsing: String(repeating: "用", count: 22) + "@b.example") }
    }

    @Test func domainAtAndPastLimit() throws {
        #expect(try SMTPAddress(parsing: "a@\(domain(length: 255))").domain == .name(domain(length: 255)))
        #expect(throws: SMTPAddressError(.domainTooLong, "domain longer than 255 octets")) {
            try SMTPAddress(parsing: "a@\(domain(length: 256))")
        }
        let error = parseError("RCPT TO:<a@\(domain(length: 256))>")
        #expect(error?.kind == .invalidRecipientAddress(.domainTooLong))
        #expect(error?.reply.enhancedStatusCode == .init(5, 1, 3))
        #expect(error?.message == "Bad recipient address syntax: domain longer than 255 octets")
    }

    @Test func domainLabelAtAndPastLimit() throws {
        let label63 = String(repeating: "l", count: 63)
        #expect(try SMTPDomain(parsing: "\(label63).example") == .name("\(label63).example"))
        #expect(throws: SMTPAddressError.self) { try SMTPDomain(parsing: "\(label63)l.example") }
    }

    @Test func pathAtAndPastLimit() throws {
        // "<" + 64 + "@" + 189 + ">" = 256.
        let local = String(repeating: "l", count: 64)
        let atLimit = "<\(local)@\(domain(length: 189))>"
        #expect(atLimit.utf8.count == 256)
        #expect(try SMTPPath(parsing: atLimit).address?.localPart == local)
        let past = "<\(local)@\(domain(length: 190))>"
        #expect(throws: SMTPAddressError(.pathTooLong, "path longer than 256 octets")) { try SMTPPath(parsing: past) }
        let error = parseError("MAIL FROM:\(past)")
        #expect(error?.kind == .invalidSenderAddress(.pathTooLong))
        #expect(error?.message == "Bad sender address syntax: path longer than 256 octets")
        // A source route counts toward the path: "<@r.example:" adds 12 octets.
        let routed = "<@r.example:\(local)@\(domain(length: 178))>"
        #expect(routed.utf8.count == 256)
        #expect(throws: Never.self) { try SMTPPath(parsing: routed) }
        #expect(throws: SMTPAddressError.self) { try SMTPPath(parsing: "<@r.example:\(local)@\(domain(length: 179))>") }
    }

    @Test func configuredAddressLimits() {
        let limits = SMTPLimits(maxLocalPartLength: 3, maxDomainLength: 5, maxPathLength: 11)
        #expect(throws: Never.self) { try SMTPPath(parsing: "<abc@d.com>", limits: limits) }
        #expect(throws: SMTPAddressError(.localPartTooLong, "local part longer than 3 octets")) {
            try SMTPPath(parsing: "<abcd@d.com>", limits: limits)
        }
        #expect(throws: SMTPAddressError(.domainTooLong, "domain longer than 5 octets")) {
            try SMTPPath(parsing: "<a@dd.com>", limits: limits)
        }
        #expect(throws: SMTPAddressError(.pathTooLong, "path longer than 11 octets")) {
            try SMTPPath(parsing: "<@e.co:abc@d.com>", limits: limits)
        }
    }

    // MARK: - fixed by the grammar

    @Test func mechanismNameAtAndPastLimit() throws {
        let name20 = String(repeating: "M", count: 20)
        #expect(try SMTPCommandParser().parse("AUTH \(name20)") == .auth(mechanism: name20, initialResponse: nil))
        #expect(parseError("AUTH \(name20)M")?.kind == .invalidArguments)
    }

    @Test func sizeDigitsAtAndPastLimit() throws {
        let digits20 = String(repeating: "1", count: 20)
        #expect(try SMTPCommandParser().parse("MAIL FROM:<> SIZE=\(digits20)") == .mailFrom(reversePath: nil, parameters: MailParameters(size: Int.max)))
        let exact = String(Int.max)
        #expect(try SMTPCommandParser().parse("MAIL FROM:<> SIZE=\(exact)") == .mailFrom(reversePath: nil, parameters: MailParameters(size: Int.max)))
        let error = parseError("MAIL FROM:<> SIZE=\(digits20)1")
        #expect(error?.kind == .invalidArguments)
        #expect(error?.reply.code == 501)
    }

    // MARK: - message content

    @Test func messageSizeAtLimit() {
        let limits = SMTPLimits(maxMessageSize: 10)
        // "..ab\r\n" is 5 octets of content once the transparency dot is gone; twice is 10.
        let decoded = decodeData("..ab\r\n..ab\r\n.\r\nQUIT\r\n", limits: limits)
        #expect(decoded.content == Array(".ab\r\n.ab\r\n".utf8))
        #expect(decoded.summary?.byteCount == 10)
        #expect(decoded.summary?.exceedsMaximumSize == false)
        #expect(decoded.leftover == Array("QUIT\r\n".utf8))
    }

    @Test func messageSizeOnePastLimitIsDrained() {
        let limits = SMTPLimits(maxMessageSize: 10)
        let decoded = decodeData("..ab\r\n..abc\r\n.\r\nQUIT\r\n", limits: limits)
        #expect(decoded.content.count <= 10)
        #expect(decoded.summary?.byteCount == 11)
        #expect(decoded.summary?.exceedsMaximumSize == true)
        // The decoder read on to the end of data: the next command is intact.
        #expect(decoded.leftover == Array("QUIT\r\n".utf8))
        #expect(SMTPReply.messageTooLarge(maximum: limits.maxMessageSize).text
                == "Message size exceeds fixed maximum message size of 10 bytes")
    }

    @Test func hugeMessagePastLimitIsDrainedWithoutBeingHandedOut() {
        let limits = SMTPLimits(maxMessageSize: 1_000)
        let line = Array((String(repeating: "z", count: 98) + "\r\n").utf8)
        var chunks: [[UInt8]] = Array(repeating: line, count: 10)   // exactly 1000
        let first = decodeData(chunks + [Array(".\r\n".utf8)], limits: limits)
        #expect(first.summary?.exceedsMaximumSize == false)
        #expect(first.content.count == 1_000)
        chunks += Array(repeating: line, count: 1_000)
        let second = decodeData(chunks + [Array(".\r\n".utf8)], limits: limits)
        #expect(second.summary?.exceedsMaximumSize == true)
        #expect(second.summary?.byteCount == 101_000)
        #expect(second.content.count == 1_000)
    }

    @Test func bdatMessageSizeAtAndPastLimit() {
        let limits = SMTPLimits(maxMessageSize: 8)
        var decoder = BDATDecoder(limits: limits)
        var buffer = ByteBuffer(string: "abcdefghij")
        decoder.beginChunk(size: 5, last: false)
        #expect(decoder.next(&buffer) == .content(ByteBuffer(string: "abcde")))
        #expect(decoder.next(&buffer) == .chunkEnd(last: false, summary: SMTPMessageSummary(byteCount: 5)))
        decoder.beginChunk(size: 3, last: false)
        #expect(decoder.next(&buffer) == .content(ByteBuffer(string: "fgh")))
        #expect(decoder.next(&buffer) == .chunkEnd(last: false, summary: SMTPMessageSummary(byteCount: 8)))
        decoder.beginChunk(size: 2, last: true)
        // The ninth octet is over: drained, not handed out.
        guard case .chunkEnd(true, let summary) = decoder.next(&buffer) else {
            Issue.record("expected the end of the last chunk")
            return
        }
        #expect(summary.byteCount == 10)
        #expect(summary.exceedsMaximumSize)
        #expect(buffer.readableBytes == 0)
    }

    @Test func textLineAtAndPastLimit() {
        let line998 = String(repeating: "t", count: 998)
        #expect(decodeData("\(line998)\r\n.\r\n").summary?.hasLongLines == false)
        #expect(decodeData("\(line998)t\r\n.\r\n").summary?.hasLongLines == true)
        // The transparency dot does not count (RFC 5321 section 4.5.3.1.6).
        #expect(decodeData(".\(line998)\r\n.\r\n").summary?.hasLongLines == false)
        #expect(decodeData("..\(line998)\r\n.\r\n").summary?.hasLongLines == true)
        // A long line is a fact, not an error: the content is all there.
        #expect(decodeData("\(line998)t\r\n.\r\n").content.count == 1_001)
        let limits = SMTPLimits(maxTextLineLength: 4)
        #expect(decodeData("abcd\r\n.\r\n", limits: limits).summary?.hasLongLines == false)
        #expect(decodeData("abcde\r\n.\r\n", limits: limits).summary?.hasLongLines == true)
    }

    // MARK: - replies

    @Test func replyLineAtAndPastLimit() throws {
        #expect(SMTPLimits.default.maxReplyLineLength == 12_288)
        let limits = SMTPLimits(maxReplyLineLength: 20)
        var parser = SMTPReplyParser(limits: limits)
        var atLimit = ByteBuffer(string: "250 " + String(repeating: "r", count: 14) + "\r\n")
        #expect(try parser.parse(&atLimit)?.lines == [String(repeating: "r", count: 14)])
        var past = ByteBuffer(string: "250 " + String(repeating: "r", count: 15) + "\r\n")
        #expect(throws: SMTPReplyParseError(.lineTooLong, "reply line longer than 20 octets")) { try parser.parse(&past) }
        // A 334 challenge as long as a SASL response fits the default.
        var challenge = ByteBuffer(string: "334 " + String(repeating: "A", count: 12_282) + "\r\n")
        var defaultParser = SMTPReplyParser()
        #expect(try defaultParser.parse(&challenge)?.code == 334)
    }

    @Test func replyLineCountAtAndPastLimit() throws {
        #expect(SMTPLimits.default.maxReplyLines == 128)
        func reply(lines: Int) -> ByteBuffer {
            var text = String(repeating: "250-EXTENSION\r\n", count: lines - 1)
            text += "250 LAST\r\n"
            return ByteBuffer(string: text)
        }
        var parser = SMTPReplyParser()
        var atLimit = reply(lines: 128)
        #expect(try parser.parse(&atLimit)?.lines.count == 128)
        var past = reply(lines: 129)
        #expect(throws: SMTPReplyParseError(.tooManyLines, "reply with more than 128 lines")) { try parser.parse(&past) }
    }

    @Test func writtenReplyLineAtAndPastLimit() {
        #expect(SMTPReplyWriter.maxLineLength == 512)
        let writer = SMTPReplyWriter()
        // "550 5.1.1 " is 10 octets; 500 octets of text and CRLF make 512.
        let text500 = String(repeating: "w", count: 500)
        let atLimit = writer.encode(SMTPReply(code: 550, enhancedStatusCode: .init(5, 1, 1), text500)).text
        #expect(atLimit == "550 5.1.1 \(text500)\r\n")
        let past = writer.encode(SMTPReply(code: 550, enhancedStatusCode: .init(5, 1, 1), text500 + "w")).text
        #expect(past == "550 5.1.1 \(text500)\r\n")
        // Challenges are never cut: their base64 must stay whole.
        let challenge = writer.encode(.authenticationChallenge(Array(repeating: 0x41, count: 3_000))).text
        #expect(challenge.utf8.count == 4 + 4_000 + 2)
    }
}
