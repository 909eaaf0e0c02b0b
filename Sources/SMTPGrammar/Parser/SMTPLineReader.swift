import NIOCore

/// Frames command lines and SASL response lines out of the bytes a server reads.
///
/// Lines end with CRLF; a bare LF is accepted as a line end too. RFC 5321 section 2.3.8 makes
/// CRLF the only line ending and forbids clients to send LF alone, but scripts and small
/// clients do, and accepting it on a command line costs nothing: a command line cannot hide a
/// second command the way message content can hide a second message. Message content is not
/// framed here: after DATA (or BDAT) the session hands the same buffer to ``SMTPDataDecoder``
/// (or ``BDATDecoder``), which accepts only CRLF.CRLF as the end of data.
///
/// Line lengths count the line's octets plus CRLF, whichever ending the client sent.
///
/// An over-long line is discarded up to its end and reported once as ``Outcome/lineTooLong``
/// when that end arrives; the session answers ``SMTPReply/lineTooLong`` and reads on. The limit
/// depends on the line (see ``SMTPLimits``): ``SMTPLimits/maxMailCommandLineLength`` for MAIL and
/// RCPT, ``SMTPLimits/maxAuthLineLength`` for AUTH and in ``Mode/saslResponse`` mode,
/// ``SMTPLimits/maxCommandLineLength`` otherwise.
///
/// ```
/// var reader = SMTPLineReader()
/// while case .line(let line) = reader.next(&buffer) {
///     // hand `line` to SMTPCommandParser
/// }
/// ```
public struct SMTPLineReader: Sendable {
    public enum Mode: Hashable, Sendable {
        /// Command lines.
        case command
        /// Lines answering a `334` challenge (RFC 4954 section 4): base64 or `*`.
        case saslResponse
    }

    public enum Outcome: Hashable, Sendable {
        /// One line, without its CRLF or LF.
        case line(ByteBuffer)
        /// Every readable byte was consumed; feed more.
        case needsMoreData
        /// A line over its limit ended and was discarded: answer ``SMTPReply/lineTooLong``
        /// (and fail the AUTH exchange in ``Mode/saslResponse`` mode).
        case lineTooLong
    }

    public var mode: Mode = .command
    public var limits: SMTPLimits
    private var framer = LineFramer()

    public init(limits: SMTPLimits = .default) {
        self.limits = limits
    }

    /// Reads the next line from `buffer`, consuming only its bytes: what follows stays in
    /// `buffer` (a pipelined command, or message content after DATA).
    public mutating func next(_ buffer: inout ByteBuffer) -> Outcome {
        let limits = self.limits
        let mode = self.mode
        let outcome = framer.next(&buffer) { lineStart in
            mode == .saslResponse ? limits.maxAuthLineLength : limits.commandLineLimit(lineStart: lineStart)
        }
        switch outcome {
        case .line(let line): return .line(line)
        case .needsMoreData: return .needsMoreData
        case .tooLong: return .lineTooLong
        }
    }

    /// Forgets any partial line and returns to command mode. Call it after STARTTLS: the
    /// protocol starts again (RFC 3207 section 4.2), and bytes sent in plain text before the
    /// handshake must not be taken as commands (CVE-2011-0411), so the session also discards
    /// what is left in its buffer.
    public mutating func reset() {
        framer.reset()
        mode = .command
    }
}

extension SMTPLimits {
    /// The limit for a command line beginning with `lineStart`, its line ending included.
    func commandLineLimit<Bytes: Collection>(lineStart: Bytes) -> Int where Bytes.Element == UInt8 {
        let verb = lineStart.prefix(5).map(SMTPCursor.upper)
        switch verb {
        case Array("MAIL ".utf8), Array("RCPT ".utf8):
            return max(maxCommandLineLength, maxMailCommandLineLength)
        case Array("AUTH ".utf8):
            return max(maxCommandLineLength, maxAuthLineLength)
        default:
            return maxCommandLineLength
        }
    }
}
