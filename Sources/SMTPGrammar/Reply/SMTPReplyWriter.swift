import NIOCore

/// Writes replies in wire form (RFC 5321 section 4.2.1, RFC 2034 section 4).
///
/// ```
/// Reply-line = *( Reply-code "-" [ textstring ] CRLF )
///              Reply-code [ SP textstring ] CRLF
/// textstring = 1*(%d09 / %d32-126)
/// ```
/// Every line but the last has `-` after the code; the enhanced status code, when present,
/// starts every line:
/// ```
/// S: 250-2.0.0 first
/// S: 250 2.0.0 last
/// ```
/// Text is sanitized so that no reply can inject a line: CR and LF become spaces, other control
/// characters and non-ASCII characters become `?`. Lines are cut to ``maxLineLength``, except
/// `334` challenges, whose base64 must stay whole (RFC 4954 section 4).
public struct SMTPReplyWriter: Sendable {
    /// False when the server did not advertise ENHANCEDSTATUSCODES: codes are then left out.
    public var includesEnhancedStatusCodes: Bool

    /// Octets of one reply line, CRLF included (RFC 5321 section 4.5.3.1.5).
    public static let maxLineLength = 512

    public init(includesEnhancedStatusCodes: Bool = true) {
        self.includesEnhancedStatusCodes = includesEnhancedStatusCodes
    }

    public func write(_ reply: SMTPReply, into buffer: inout ByteBuffer) {
        let lines = reply.lines.isEmpty ? [""] : reply.lines
        let enhanced = includesEnhancedStatusCodes ? reply.enhancedStatusCode.map { "\($0)" } : nil
        for (index, text) in lines.enumerated() {
            var line = "\(reply.code)\(index == lines.count - 1 ? " " : "-")"
            if let enhanced {
                line += text.isEmpty ? enhanced : "\(enhanced) "
            }
            line += Self.sanitize(text)
            if reply.code != 334, line.utf8.count > Self.maxLineLength - 2 {
                // Sanitized text is ASCII: one character per octet.
                line = String(line.prefix(Self.maxLineLength - 2))
            }
            buffer.writeString(line)
            buffer.writeString("\r\n")
        }
    }

    /// The reply in a buffer of its own.
    public func encode(_ reply: SMTPReply) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(reply, into: &buffer)
        return buffer
    }

    /// `textstring`: HT, SP and printable US-ASCII only.
    static func sanitize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0D, 0x0A: out.append(" ")
            case 0x09, 0x20...0x7E: out.append(scalar)
            default: out.append("?")
            }
        }
        return String(out)
    }
}
