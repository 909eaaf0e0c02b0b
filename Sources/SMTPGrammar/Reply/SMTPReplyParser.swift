import NIOCore

/// Reads server replies incrementally, for the client side (RFC 5321 section 4.2).
///
/// ```
/// Reply-line = *( Reply-code "-" [ textstring ] CRLF )
///              Reply-code [ SP textstring ] CRLF
/// Reply-code = %x32-35 %x30-35 %x30-39
/// ```
/// The enhanced status code (RFC 2034 section 4) is recognised at the start of the first line
/// when its class matches the reply code's first digit, and removed from every line that
/// repeats it; the client need not remember whether ENHANCEDSTATUSCODES was advertised.
///
/// ```
/// var parser = SMTPReplyParser()
/// var buffer = ByteBuffer(string: "250-mx.example.com\r\n250 SIZE 1000000\r\n550 5.1.1 No such user\r\n")
/// try parser.parse(&buffer)   // SMTPReply(code: 250, lines: ["mx.example.com", "SIZE 1000000"])
/// try parser.parse(&buffer)   // SMTPReply(code: 550, enhancedStatusCode: 5.1.1, lines: ["No such user"])
/// try parser.parse(&buffer)   // nil: feed more bytes
/// ```
public struct SMTPReplyParser: Sendable {
    public var limits: SMTPLimits
    private var framer = LineFramer()
    /// The lines of the reply being read: code, enhanced code of its first line, texts.
    private var code: Int?
    private var enhancedStatusCode: SMTPEnhancedStatusCode?
    private var lines: [String] = []

    public init(limits: SMTPLimits = .default) {
        self.limits = limits
    }

    /// Returns the next complete reply, or nil when more bytes are needed (every readable byte
    /// was consumed then). Bytes after the reply stay in `buffer`.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(SMTPReplyParseError) -> SMTPReply? {
        while true {
            let maximum = limits.maxReplyLineLength
            switch framer.next(&buffer, limit: { _ in maximum }) {
            case .needsMoreData:
                return nil
            case .tooLong:
                reset()
                throw SMTPReplyParseError(.lineTooLong, "reply line longer than \(maximum) octets")
            case .line(let line):
                if let reply = try lineComplete(Array(line.readableBytesView)) {
                    return reply
                }
            }
        }
    }

    /// Forgets a partial reply (after an error, or when a new connection starts).
    public mutating func reset() {
        framer.reset()
        code = nil
        enhancedStatusCode = nil
        lines = []
    }

    private mutating func lineComplete(_ line: [UInt8]) throws(SMTPReplyParseError) -> SMTPReply? {
        guard line.count >= 3,
              (0x32...0x35).contains(line[0]), (0x30...0x35).contains(line[1]), SMTPCursor.isDigit(line[2]) else {
            reset()
            throw SMTPReplyParseError(.malformedLine, "reply line does not start with a reply code")
        }
        let lineCode = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
        let isLast: Bool
        switch line.count > 3 ? line[3] : nil {
        case nil, UInt8.space?: isLast = true
        case UInt8(ascii: "-")?: isLast = false
        default:
            reset()
            throw SMTPReplyParseError(.malformedLine, "reply code not followed by \"-\" or a space")
        }
        if let code, code != lineCode {
            reset()
            throw SMTPReplyParseError(.inconsistentCode, "reply line with code \(lineCode) inside a \(code) reply")
        }
        guard lines.count < limits.maxReplyLines else {
            reset()
            throw SMTPReplyParseError(.tooManyLines, "reply with more than \(limits.maxReplyLines) lines")
        }

        var text = line.count > 4 ? Array(line[4...]) : []
        if code == nil {
            code = lineCode
            if let (enhanced, rest) = Self.leadingEnhancedStatusCode(text, replyClass: lineCode / 100) {
                enhancedStatusCode = enhanced
                text = rest
            }
        } else if let enhancedStatusCode,
                  let (enhanced, rest) = Self.leadingEnhancedStatusCode(text, replyClass: lineCode / 100),
                  enhanced == enhancedStatusCode {
            text = rest
        }
        lines.append(String(decoding: text, as: UTF8.self))
        guard isLast else { return nil }

        let reply = SMTPReply(code: lineCode, enhancedStatusCode: enhancedStatusCode, lines: lines)
        code = nil
        enhancedStatusCode = nil
        lines = []
        return reply
    }

    /// `status-code SP` (or the status code alone) at the start of a line's text, when its class
    /// is the reply code's first digit (RFC 3463 section 2: the two must agree).
    static func leadingEnhancedStatusCode(_ text: [UInt8], replyClass: Int) -> (SMTPEnhancedStatusCode, [UInt8])? {
        let end = text.firstIndex(of: .space) ?? text.count
        guard end >= 5, let code = SMTPEnhancedStatusCode(String(decoding: text[..<end], as: UTF8.self)),
              code.statusClass == replyClass else { return nil }
        return (code, end < text.count ? Array(text[(end + 1)...]) : [])
    }
}
